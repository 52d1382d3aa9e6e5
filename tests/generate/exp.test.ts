import { test } from 'vitest';
import { DashboardBuilder, QueryVariableBuilder, RowBuilder, ThresholdsConfigBuilder, ThresholdsMode, VariableRefresh } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as BarBuilder } from '@grafana/grafana-foundation-sdk/barchart';
const d = new DashboardBuilder('T').uid('x').tags(['okr'])
 .withVariable(new QueryVariableBuilder('team').query('label_values(up, job)').datasource({type:'prometheus', uid:'okr'}).includeAll(true).allValue('.*').multi(true).refresh(VariableRefresh.OnTimeRangeChanged))
 .withRow(new RowBuilder('r1'))
 .withPanel(new StatBuilder().id(1).title('s').datasource({type:'prometheus', uid:'okr'}).withTarget(new DataqueryBuilder().expr('up').refId('A').instant()).thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{value:null as any, color:'red'},{value:0.99,color:'green'}])).unit('percentunit').gridPos({x:0,y:0,w:8,h:4}))
 .withPanel(new BarBuilder().id(2).title('b').thresholdsStyle({mode: 'line' as any}))
 .build();
test("x", () => console.log(JSON.stringify(d, null, 1)));

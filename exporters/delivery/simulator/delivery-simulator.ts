/**
 * The demo's delivery source: no API of its own (it joins what the simulated Bitbucket and Jira
 * publish), so the simulation only switches it on with the example's settings.
 */
import type { SourceSimulator } from '../../../src/core/source.js';

export const deliverySimulator: SourceSimulator = {
  async start() {
    return {
      settings: (current) => ({ ...current }),
      close: async () => undefined,
    };
  },
};

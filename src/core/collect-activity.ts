/**
 * What a collection is doing right now: the requests in flight, what each is waiting for, and
 * the last error any of them saw. When a collection outlives its timeout, "timeout" alone hides
 * the cause (a 503 being retried, a refused connection, a 429 with a long Retry-After); the
 * runner asks this record what was going on and says it.
 */

/** One request's progress, reported by the HTTP client. */
export interface RequestProgress {
  /** A (new) attempt is on the wire. */
  waiting(): void;
  /** The attempt failed with `error` (e.g. `503 Service Unavailable`, `ECONNREFUSED`) and will be retried. */
  retrying(error: string, detail?: string): void;
  /** The request ended with `error` (after its retries), or `undefined` when it succeeded. */
  end(error?: string): void;
}

export interface CollectActivityLog {
  /** A request starts; `what` is e.g. `GET /rest/api/3/search/jql` (never a query string: it may carry data). */
  begin(what: string): RequestProgress;
}

interface InFlight {
  what: string;
  state: string;
  error?: string;
  seq: number;
}

export class CollectActivity implements CollectActivityLog {
  private readonly inFlight = new Set<InFlight>();
  private lastError: { what: string; error: string } | undefined;
  private requests = 0;
  private seq = 0;

  begin(what: string): RequestProgress {
    this.requests++;
    const r: InFlight = { what, state: 'was waiting for an answer', seq: ++this.seq };
    this.inFlight.add(r);
    return {
      waiting: () => {
        r.state = r.error ? `was waiting for an answer (retrying after ${r.error})` : 'was waiting for an answer';
        r.seq = ++this.seq;
      },
      retrying: (error, detail) => {
        r.error = error;
        r.state = `was retrying after ${error}${detail ? ` (${detail})` : ''}`;
        r.seq = ++this.seq;
        this.lastError = { what, error };
      },
      end: (error) => {
        this.inFlight.delete(r);
        if (error !== undefined) this.lastError = { what, error };
      },
    };
  }

  /**
   * The tail of a timeout message: `while GET /x was retrying after 503 Service Unavailable`,
   * the number of other requests in flight, and the last error seen when it is not that one.
   * Empty when the collection made no request at all.
   */
  describe(): string {
    if (this.requests === 0) return '';
    const all = [...this.inFlight];
    // The request with an error is the more telling one; among equals, the latest news.
    const pick = all.sort((a, b) => Number(!!b.error) - Number(!!a.error) || b.seq - a.seq)[0];
    let text: string;
    if (pick) {
      text = ` while ${pick.what} ${pick.state}`;
      if (all.length > 1) text += ` (${all.length - 1} other request${all.length > 2 ? 's' : ''} in flight)`;
      if (this.lastError && this.lastError.error !== pick.error) text += `; last error: ${this.lastError.what}: ${this.lastError.error}`;
    } else {
      text = ' with no request in flight';
      if (this.lastError) text += `; last error: ${this.lastError.what}: ${this.lastError.error}`;
    }
    return text;
  }
}

/**
 * What mapping one request produced besides the records: how many items were refused and why
 * (for the partial-success answer), what was cut without refusing anything (a warning in the same
 * answer), and how many items each service sent (for the stats).
 */
export class IngestTally {
  rejected = 0;
  private readonly reasons = new Map<string, number>();
  private readonly warnings = new Map<string, number>();
  /** service → items received (decoded, refused or not). */
  readonly receivedByService = new Map<string, number>();
  /** service → items refused. */
  readonly refusedByService = new Map<string, number>();

  received(service: string, n = 1): void {
    this.receivedByService.set(service, (this.receivedByService.get(service) ?? 0) + n);
  }

  reject(service: string, reason: string, n = 1): void {
    this.rejected += n;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + n);
    this.refusedByService.set(service, (this.refusedByService.get(service) ?? 0) + n);
  }

  warn(what: string, n = 1): void {
    this.warnings.set(what, (this.warnings.get(what) ?? 0) + n);
  }

  /** One line a person can act on: "3 spans refused: invalid trace id; 2 links with an invalid id dropped". */
  message(unit: string): string {
    const parts = [...this.reasons].map(([reason, n]) => `${n} ${unit} refused: ${reason}`);
    for (const [what, n] of this.warnings) parts.push(`${n} ${what}`);
    return parts.join('; ');
  }
}

// Keys as small numbers, for compact per-segment views that would otherwise hold a string (or a
// shared object) each: a code is the index of its value in `values`, given in order of first sight.

export class CodeTable<T> {
  private readonly codes = new Map<string, number>();
  readonly values: T[] = [];

  /** The code of `key`, added with `make()` as its value when new. */
  code(key: string, make: () => T): number {
    let known = this.codes.get(key);
    if (known === undefined) {
      known = this.values.length;
      this.values.push(make());
      this.codes.set(key, known);
    }
    return known;
  }
}

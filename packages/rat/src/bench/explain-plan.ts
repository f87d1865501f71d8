/**
 * The physical plan of `EXPLAIN (FORMAT json)` with relation qualifiers removed: rat's views show
 * columns as `memory.bench.sales.product` where read_parquet shows `read_parquet.product`, which
 * names the same column of the same scan.
 */
export function planShape(explainJson: string): string {
  return JSON.stringify(JSON.parse(explainJson), (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(/\b[A-Za-z_]\w*\./g, '') : value,
  );
}

/** True when both EXPLAIN (FORMAT json) outputs describe the same operators, columns and estimates. */
export function samePhysicalPlan(a: string, b: string): boolean {
  return planShape(a) === planShape(b);
}

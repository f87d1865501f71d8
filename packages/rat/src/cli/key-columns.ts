/**
 * Commander's parser for `--key`: each value may list several columns split by commas (`--key a,b`,
 * as rat's own advice writes a composite key), beside the variadic `--key a b` and a repeated `--key`.
 * A column name holds no comma: safe names and `--keep-names` allow none.
 */
export function keyColumns(value: string, previous: string[] | undefined): string[] {
  const columns = value.split(',').map((column) => column.trim());
  return [...(previous ?? []), ...columns.filter((column) => column !== '')];
}

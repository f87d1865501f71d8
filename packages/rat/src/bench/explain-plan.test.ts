import { describe, expect, it } from 'vitest';
import { samePhysicalPlan } from './explain-plan.js';

const plan = (column: string, rows: string) =>
  JSON.stringify([{ name: 'ORDER_BY', extra_info: { Order: `${column} ASC` }, children: [{ name: 'READ_PARQUET', extra_info: { 'Estimated Cardinality': rows }, children: [] }] }]);

describe('samePhysicalPlan', () => {
  it('ignores how the relation of a column is named', () => {
    expect(samePhysicalPlan(plan('memory.bench.sales.product', '5000016'), plan('read_parquet.product', '5000016'))).toBe(true);
  });
  it('sees different columns and estimates', () => {
    expect(samePhysicalPlan(plan('memory.bench.sales.product', '5000016'), plan('read_parquet.amount', '5000016'))).toBe(false);
    expect(samePhysicalPlan(plan('product', '5000016'), plan('product', '208334'))).toBe(false);
  });
});

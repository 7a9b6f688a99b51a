import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { rdsArn } from '#domain/naming.js';
import type { InstanceState } from '#domain/state.js';
import type { Retirement } from '#reconcilers/retirement.js';
import type { RetirementOps } from '#targets/ops.js';

/** After a rename cutover the new instance holds the original identifier and the source is aside. */
const identifiers = (state: InstanceState) => {
  const { plan } = state;
  const original = plan.source.dbInstanceIdentifier;
  return plan.cutover.type === 'rename'
    ? { serving: original, retired: plan.cutover.asideIdentifier }
    : {
        serving: state.validation?.dbInstanceIdentifier ?? plan.names.newDbInstanceIdentifier,
        retired: original,
      };
};

export const instanceRetirement: RetirementOps<'instance'> = {
  marks: (state): Retirement => {
    const { plan } = state;
    const ids = identifiers(state);
    return {
      serving: [rdsArn(plan, 'db', ids.serving)],
      retired: plan.decisions.deleteOldInstance ? [rdsArn(plan, 'db', ids.retired)] : [],
    };
  },
  sources: async (state) => {
    const { plan } = state;
    const names = [plan.source.dbInstanceIdentifier];
    if (plan.cutover.type === 'rename') names.push(plan.cutover.asideIdentifier);
    const found = await Promise.all(names.map((name) => findInstance(getClients().rds, name)));
    return found.flatMap((db) => (db?.DBInstanceArn ? [{ arn: db.DBInstanceArn, tags: db.TagList }] : []));
  },
};

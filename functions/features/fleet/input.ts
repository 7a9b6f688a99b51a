/** Placeholder until the planner is merged (issue 11). */
export type FleetInput = Record<string, unknown>;

export const isFleetInput = (raw: unknown): boolean =>
  typeof raw === 'object' && raw !== null && 'fleet' in raw;

export const parseFleetInput = (_raw: unknown): FleetInput => {
  throw new Error('parseFleetInput: not merged');
};

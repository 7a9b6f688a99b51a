import { ResourceFailedError } from '#domain/errors.js';

/**
 * The restored database is being deleted by someone else while the rotation restores it: the
 * restore cannot finish, and nothing has moved clients yet. `what` is "DB instance" or "DB cluster".
 */
export const assertNotBeingDeleted = (status: string, what: string, id: string): void => {
  if (status !== 'deleting') return;
  throw new ResourceFailedError(
    `The new ${what} ${id} is being deleted by someone else while the rotation restores it. ` +
      'Clients still use the source; start a new rotation once the deletion is finished.',
  );
};

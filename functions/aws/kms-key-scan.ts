import { type KeyMetadata, type KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { describeKeyOrNull, isPendingDeletion, rotationTagOf } from '#aws/kms-keys.js';
import { SCAN_BUDGETS } from '#domain/limits.js';
import type { StepContext } from '#runtime/handler.js';

/**
 * CreateKey's search for the key an earlier attempt created but did not alias, tagged with the
 * rotation id. KMS cannot list keys by tag, so the search reads every key's tags; in an account
 * with thousands of keys that takes longer than one Lambda invocation, so each call reads at most
 * SCAN_BUDGETS.keyPagesPerInvocation pages of ListKeys (and the tags of their keys), stops
 * earlier when the invocation's time runs short, and returns where the next call goes on.
 * Read-only.
 */

/** Where the search goes on: the ListKeys marker of the next page, and how far it got. */
export interface KeyScanCursor {
  marker?: string;
  scannedKeys: number;
}

export type KeyScanStep =
  | { status: 'found'; key: KeyMetadata; cursor: KeyScanCursor }
  | { status: 'clear'; cursor: KeyScanCursor }
  | { status: 'more'; cursor: KeyScanCursor };

/** Calls `each` on every item, at most `concurrency` at a time, in order of the batches. */
const inBatches = async <T, R>(items: T[], concurrency: number, each: (item: T) => Promise<R>) => {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += concurrency) {
    results.push(...(await Promise.all(items.slice(i, i + concurrency).map(each))));
  }
  return results;
};

/**
 * One invocation's share of the search: at least one page, at most the budget. `found` is a key
 * tagged with this rotation id and not pending deletion (a key pending deletion was given up on);
 * `clear` means every key of the account and Region was read and none is this rotation's.
 */
export const scanForKeyOfRotation = async (
  kms: KMSClient,
  rotationId: string,
  cursor: KeyScanCursor | undefined,
  context: StepContext,
): Promise<KeyScanStep> => {
  let { marker, scannedKeys } = cursor ?? { scannedKeys: 0 };
  for (let page = 0; page < SCAN_BUDGETS.keyPagesPerInvocation; page++) {
    if (page > 0 && context.remainingMs() < SCAN_BUDGETS.reserveMs) break;
    const listed = await kms.send(new ListKeysCommand({ Limit: SCAN_BUDGETS.keyPageSize, Marker: marker }));
    const keyIds = (listed.Keys ?? []).map((k) => k.KeyId).filter((id): id is string => !!id);
    const tagged = await inBatches(keyIds, SCAN_BUDGETS.tagLookupConcurrency, async (keyId) =>
      (await rotationTagOf(kms, keyId)) === rotationId ? keyId : null,
    );
    scannedKeys += keyIds.length;
    marker = listed.Truncated ? listed.NextMarker : undefined;
    for (const keyId of tagged) {
      if (!keyId) continue;
      const metadata = await describeKeyOrNull(kms, keyId);
      if (metadata && !isPendingDeletion(metadata)) {
        return { status: 'found', key: metadata, cursor: { marker, scannedKeys } };
      }
    }
    if (!marker) return { status: 'clear', cursor: { scannedKeys } };
  }
  return { status: 'more', cursor: { marker, scannedKeys } };
};

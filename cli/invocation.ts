/**
 * How the commands that Rekey prints (next steps, runbook lines) invoke Rekey: the checkout's own
 * entry point. Never `npx rekey`: outside the checkout npx would fetch whatever package of that
 * name the public registry holds, which is not this project.
 */
export const CLI = './bin/rekey.mjs';

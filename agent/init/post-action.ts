// Performs the post-install action for real: reboot, shutdown, kexec, beep, shell; directboot is finished by PID 1.

import { SiError } from '../errors.js';
import type { ActionCtx } from './action-ctx.js';

/** Sleeps, or ends early when the install is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** Runs the action; reboot and shutdown do not return on a real machine. */
export async function performPostAction(ctx: ActionCtx, action: string): Promise<void> {
  await ctx.run('sync', [], { allowFail: true });
  switch (action) {
    case 'reboot':
      await ctx.run('reboot', ['-f']);
      return;
    case 'shutdown':
      await ctx.run('poweroff', ['-f']);
      return;
    case 'beep': {
      // "done for N seconds" every second until someone reboots the machine.
      const started = Date.now();
      while (!ctx.signal.aborted) {
        process.stdout.write('\x07');
        ctx.report.info(`I have been done for ${Math.round((Date.now() - started) / 1000)} seconds.  Reboot me already!`);
        await sleep(1000, ctx.signal);
      }
      return;
    }
    case 'kexec':
      await ctx.run('kexec', ['-e']);
      return;
    case 'directboot':
      // PID 1 does the switch_root once this worker has exited (see pid1.ts).
      ctx.report.info('directboot: handing the installed root to PID 1');
      return;
    case 'shell':
      ctx.report.info('post-install action: shell; the installed system is ready, reboot when done');
      return;
    default:
      throw new SiError('E_PARAM', `post-install action ${action} is not available in this build`);
  }
}

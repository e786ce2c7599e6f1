// Ctrl-C and SIGTERM during a run: the first one aborts the run (which reverts every
// fault); a second one while reverting is acknowledged but does not stop the reverts.
export function abortOnSignals(controller: AbortController, log: (message: string) => void): () => void {
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      log(`${sig}: aborting the run and reverting every fault…`);
      controller.abort(new Error(`received ${sig}`));
    } else log(`${sig} again: still reverting faults; the run ends as soon as they are out`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

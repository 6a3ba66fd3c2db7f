// Loaded with `--import` into every process the benchmark starts (Portkey's too): when the benchmark goes
// away, however it ends (Ctrl-C, a crash, SIGKILL), its IPC channel closes and the child follows.
if (process.connected) process.on('disconnect', () => process.exit(0));

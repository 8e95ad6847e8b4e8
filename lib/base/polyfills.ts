/**
 * Node 20 defines Symbol.dispose/asyncDispose as Symbol.for('nodejs.dispose'/'nodejs.asyncDispose') in the
 * main realm only; other realms (vm contexts, as test runners use) lack them. Define them there the same way,
 * so `using` / `await using` find our disposers whatever realm the caller runs in.
 */
const symbols = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
symbols.dispose ??= Symbol.for('nodejs.dispose');
symbols.asyncDispose ??= Symbol.for('nodejs.asyncDispose');

export {};

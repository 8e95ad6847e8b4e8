// The raw child_process floor for the start-up benchmark: answers one message, exits on disconnect.
process.on('message', (x) => process.send(x * x));

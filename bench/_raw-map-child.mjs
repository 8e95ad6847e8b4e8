// The bare child_process floor of the map benchmark: squares each chunk of numbers it is sent.
process.on('message', (chunk) => {
  const out = new Float64Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) out[i] = chunk[i] * chunk[i];
  process.send(out);
});

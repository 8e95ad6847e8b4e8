// tinypool's worker for the comparison rows: x*x, or a batch of them.
export default function sq(x) {
  if (Array.isArray(x)) return x.map((v) => v * v);
  return x * x;
}

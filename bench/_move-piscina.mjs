// piscina's twin of bench/_move-tasks.mjs echoMove: the array moved back with Piscina.move().
import Piscina from 'piscina';

export default function echoMove(a) {
  a[0] += 1;
  return Piscina.move(a);
}

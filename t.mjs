import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

await tf.setBackend('cpu');
try {
  const g = tf.grad((x) => tf.sum(tf.square(x)));
  console.log(g(tf.tensor([1, 2])).arraySync());
} catch (e) {
  console.log('ERR', e.message);
}
try {
  console.log(tf.tensor([1]).add);
} catch (e) {
  console.log(e.message);
}

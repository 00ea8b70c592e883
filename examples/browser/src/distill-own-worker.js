// "Distill your own", the worker's side (train-worker.js hands it messages of kind 'distill'): loads the teacher
// (a Distillery model.json + safetensors given as bytes, or a model.json URL: Distillery, tfjs Layers or tfjs graph
// model, through loadTeacher), checks its class count against the folder's, distills a ViT student with distill() of
// @distillery/train on the images the page decoded, and posts the student back as model.json + model.safetensors
// (saveModel of @distillery/vit: what loadModel reads in Node and in browsers).
import { tf } from '@distillery/tensor';
import { distill, loadTeacher, teacherAdapter } from '@distillery/train';
import { createViT, saveModel } from '@distillery/vit';
import { loadModel } from '@distillery/vit/load';
import { plainRecord } from './context.js';

/** Images of the student's logits the page can compare with the downloaded student's (as many as there are, ≤ 4). */
const CHECK_IMAGES = 4;

async function openTeacher(teacher) {
  if (teacher.kind === 'files') {
    const loaded = await loadModel({ json: teacher.json, weights: teacher.weights });
    return {
      format: 'distillery',
      model: loaded.model,
      classes: loaded.classes,
      dispose: () => loaded.model.dispose(),
    };
  }
  return loadTeacher(teacher.url);
}

/** An in-memory dataset of @distillery/train's LabelledData shape over the page's decoded pixels. */
function dataset(pixels, labels, size, channels, classes) {
  const per = size * size * channels;
  return {
    length: labels.length,
    classNames: classes,
    labels: () => labels,
    batch(indices) {
      const k = indices.length;
      const out = new Float32Array(k * per);
      const ys = new Int32Array(k);
      for (let j = 0; j < k; j++) {
        out.set(pixels.subarray(indices[j] * per, (indices[j] + 1) * per), j * per);
        ys[j] = labels[indices[j]];
      }
      return { images: tf.tensor4d(out, [k, size, size, channels]), labels: tf.tensor1d(ys, 'int32') };
    },
  };
}

/**
 * @param {{ teacher: { kind: 'files', json: string, weights: ArrayBuffer } | { kind: 'url', url: string },
 *   pixels: Float32Array, labels: Int32Array, size: number, channels: number, classes: string[],
 *   student: { preset: string, config: object }, loss: string, epochs: number, batchSize: number, seed: number }} job
 * @param {(message: object, transfer?: Transferable[]) => void} post
 */
export async function distillOwn(job, post) {
  const { pixels, labels, size, channels, classes } = job;
  const teacher = await openTeacher(job.teacher);
  let student;
  try {
    post({
      type: 'line',
      text: `teacher: ${teacher.format} model${teacher.classes ? ` (${teacher.classes.join(', ')})` : ''}`,
    });
    // The class count first, in the page's words (distill() would say it too, in the library's).
    const first = tf.tensor4d(pixels.subarray(0, size * size * channels), [1, size, size, channels]);
    let teacherClasses;
    try {
      const { logits } = await teacherAdapter(teacher.model, 'teacher').run(first);
      teacherClasses = logits.shape[1];
      logits.dispose();
    } finally {
      first.dispose();
    }
    if (teacherClasses !== classes.length) {
      throw new Error(
        `the teacher predicts ${teacherClasses} classes, but the image folder has ${classes.length} class folders (${classes.join(', ')}): pick a teacher trained on these classes, or a folder with one sub-folder per teacher class`,
      );
    }
    student = createViT(job.student.preset, {
      ...job.student.config,
      numClasses: classes.length,
      inChannels: channels,
      distilled: job.loss === 'deit-lt',
      seed: job.seed,
    });
    const train = dataset(pixels, labels, size, channels, classes);
    const { history } = await distill({
      teacher: job.loss === 'uskd' ? undefined : teacher.model,
      student,
      loss: job.loss,
      train,
      epochs: job.epochs,
      batchSize: job.batchSize,
      seed: job.seed,
      progress: 'none',
      onBatchEnd: ({ epoch, batchIndex, batchesPerEpoch, loss }) =>
        post({ type: 'progress', epoch, epochs: job.epochs, batch: batchIndex + 1, batches: batchesPerEpoch, loss }),
      onEpochEnd: (record) => post({ type: 'epoch', run: 'student', record: plainRecord(record) }),
    });
    const saved = await saveModel(student, {
      classes,
      metadata: { imageSize: size, channels, loss: job.loss, teacher: teacher.format, epochs: job.epochs },
    });
    // The student's logits on the first images, as the page decoded them: a downloaded copy must give the same.
    const k = Math.min(CHECK_IMAGES, labels.length);
    const checkPixels = pixels.slice(0, k * size * size * channels);
    const x = tf.tensor4d(checkPixels, [k, size, size, channels]);
    const logits = tf.tidy(() => student.forward(x, { training: false }).logits);
    const checkLogits = Float32Array.from(await logits.data());
    tf.dispose([x, logits]);
    const weights =
      saved.weights.byteOffset === 0 && saved.weights.byteLength === saved.weights.buffer.byteLength
        ? saved.weights
        : new Uint8Array(saved.weights);
    student.dispose();
    student = undefined;
    post(
      {
        type: 'distilled',
        json: JSON.stringify(saved.json, null, 2),
        weights,
        history: history.map(plainRecord),
        check: { pixels: checkPixels, logits: checkLogits, shape: [k, size, size, channels] },
        tensors: tf.memory().numTensors,
      },
      [weights.buffer, checkPixels.buffer, checkLogits.buffer],
    );
  } finally {
    student?.dispose();
    teacher.dispose();
  }
}

import { describeValue, invalid, noGrad, tf } from '@distillery/tensor';

/**
 * A Distillery model (the module API of @distillery/vit): `forward(images, { training })` returning `{ logits }` (and
 * `tokens` / `blocks` for ViTs), `trainableVariables()`.
 */
export interface DistilleryModelLike {
  forward(
    images: tf.Tensor4D,
    options?: { training?: boolean; collect?: number[] },
  ): {
    logits: tf.Tensor2D;
    clsLogits?: tf.Tensor2D;
    distLogits?: tf.Tensor2D;
    tokens?: tf.Tensor3D;
    blocks?: Record<number, tf.Tensor3D>;
  };
  trainableVariables(): tf.Variable[];
  buffers?(): { variables: tf.Variable[]; counters?: Map<string, number> };
  config?: { depth?: number; numClasses?: number };
  numPrefixTokens?: number;
}

/** The surface of a tfjs-layers `LayersModel` or tfjs-converter `GraphModel` that a teacher needs. */
export interface TfjsModelLike {
  predict?(x: tf.Tensor, config?: unknown): tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
  execute?(x: tf.Tensor, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  /** A GraphModel's entry point for graphs with dynamic ops (control flow, Where, NonMaxSuppression). */
  executeAsync?(x: tf.Tensor, outputs?: string | string[]): Promise<tf.Tensor | tf.Tensor[]>;
}

/**
 * A function from images `[B, H, W, C]` to logits `[B, C]`, or to a Promise of them (a remote teacher, one in a Web
 * Worker, a model behind an async API). A synchronous function runs inside `tf.tidy` (its intermediates are freed).
 * An `async` function runs outside it, since tensors it holds across an `await` must survive: it frees its own
 * intermediates. The images stay valid until the Promise settles; the logits it resolves to are the caller's.
 */
export type TeacherFunction = (images: tf.Tensor4D) => tf.Tensor | Promise<tf.Tensor>;

/**
 * What can teach: a Distillery model, a tfjs `LayersModel` / `GraphModel` (anything with `predict` or `execute`), or a
 * function from images to logits (see {@link TeacherFunction}).
 */
export type Teacher = DistilleryModelLike | TfjsModelLike | TeacherFunction;

export type TeacherKind = 'distillery' | 'tfjs-layers' | 'tfjs-graph' | 'function';

/** One teacher forward: logits `[B, C]`, and the patch tokens of the last block when asked (Distillery ViTs). */
export interface TeacherOutput {
  logits: tf.Tensor2D;
  tokens?: tf.Tensor3D;
}

/** A teacher behind one interface, always run in inference mode. */
export interface TeacherAdapter {
  kind: TeacherKind;
  /**
   * Inference: `{ logits }` (and `tokens` with `withTokens`), or a Promise of them for a teacher function that returns
   * one. The caller owns the results.
   */
  run(images: tf.Tensor4D, withTokens?: boolean): TeacherOutput | Promise<TeacherOutput>;
  /** The teacher's own variables when it exposes them (Distillery models), to check they are never trained. */
  variables(): tf.Variable[];
}

const isModel = (t: object): t is DistilleryModelLike =>
  typeof (t as DistilleryModelLike).forward === 'function' &&
  typeof (t as DistilleryModelLike).trainableVariables === 'function';

/** Patch tokens `[B, L, D]` of the last block (before the final norm), without the prefix (class/dist) tokens. */
export function lastBlockPatchTokens(model: DistilleryModelLike, images: tf.Tensor4D, training: boolean) {
  const depth = model.config?.depth;
  const out = model.forward(images, { training, collect: [depth! - 1] });
  const blocks = out.blocks?.[depth! - 1];
  return { out, tokens: blocks ? dropPrefix(blocks, model.numPrefixTokens ?? 1) : undefined };
}

function dropPrefix(tokens: tf.Tensor3D, prefix: number): tf.Tensor3D {
  const [b, n, d] = tokens.shape;
  return tf.slice(tokens, [0, prefix, 0], [b, n - prefix, d]);
}

/**
 * Wraps any supported teacher (see {@link Teacher}); anything else is a DistilleryError naming `options.teacher`.
 * Every forward runs under `noGrad`: even if called inside a gradient computation, none of its ops is recorded.
 */
export function teacherAdapter(teacher: unknown, argument = 'options.teacher'): TeacherAdapter {
  const adapter = rawAdapter(teacher, argument);
  return {
    ...adapter,
    // boxed: noGrad refuses a Promise result; the synchronous part of an async teacher still runs under it
    run: (images, withTokens) => noGrad(() => ({ out: adapter.run(images, withTokens) })).out,
  };
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null &&
  (typeof v === 'object' || typeof v === 'function') &&
  typeof (v as { then?: unknown }).then === 'function';

/** `async function` / `async () =>`: run outside tf.tidy, whose end would free tensors still used after an await. */
const isAsyncFunction = (f: unknown) =>
  typeof f === 'function' && (f as { constructor?: { name?: string } }).constructor?.name === 'AsyncFunction';

function rawAdapter(teacher: unknown, argument: string): TeacherAdapter {
  const expected =
    'a Distillery model (forward + trainableVariables), a tfjs LayersModel/GraphModel (predict or execute), or a function images => logits';
  if (typeof teacher === 'function') {
    return {
      kind: 'function',
      run: (images, withTokens) => {
        if (withTokens) throw tokensNeeded(argument, 'a function');
        const fn = teacher as TeacherFunction;
        let pending: PromiseLike<unknown> | undefined;
        if (isAsyncFunction(fn)) pending = Promise.resolve(fn(images));
        else {
          const logits = tf.tidy(() => {
            const out = fn(images);
            if (!isThenable(out)) return out;
            pending = out;
            return tf.scalar(0); // a placeholder, freed below: the logits come with the Promise
          });
          if (!pending) return { logits: checkLogits(logits, argument) };
          logits.dispose();
        }
        return Promise.resolve(pending).then((value) => ({ logits: checkLogits(value, argument) }));
      },
      variables: () => [],
    };
  }
  if (teacher === null || typeof teacher !== 'object')
    throw invalid('INVALID_ARGUMENT', argument, expected, describeValue(teacher));
  if (isModel(teacher)) {
    return {
      kind: 'distillery',
      run: (images, withTokens) => {
        if (!withTokens) {
          const out = teacher.forward(images, { training: false });
          const logits = out.logits;
          disposeOthers(out, logits);
          return { logits: checkLogits(logits, argument) };
        }
        if (typeof teacher.config?.depth !== 'number')
          throw tokensNeeded(argument, 'a Distillery model without blocks (config.depth)');
        const { out, tokens } = lastBlockPatchTokens(teacher, images, false);
        disposeOthers(out, out.logits);
        return { logits: checkLogits(out.logits, argument), tokens };
      },
      variables: () => teacher.trainableVariables(),
    };
  }
  const m = teacher as TfjsModelLike;
  // A GraphModel has both; predict() is its inference entry point too (it calls execute).
  const usePredict = typeof m.predict === 'function';
  if (!usePredict && typeof m.execute !== 'function') {
    throw invalid('INVALID_ARGUMENT', argument, expected, describeValue(teacher));
  }
  // A LayersModel has execute() too (run named outputs); its `layers` array tells it from a GraphModel.
  const kind: TeacherKind =
    typeof m.execute === 'function' && !Array.isArray((m as { layers?: unknown }).layers)
      ? 'tfjs-graph'
      : 'tfjs-layers';
  /** Set once predict() has said the graph has dynamic ops: every later batch goes to executeAsync directly. */
  let dynamicGraph = false;
  const runAsync = (images: tf.Tensor4D) =>
    m.executeAsync!(images).then((value) => ({ logits: oneOutput(value, argument) }));
  return {
    kind,
    run: (images, withTokens) => {
      if (withTokens) throw tokensNeeded(argument, `a tfjs ${kind === 'tfjs-graph' ? 'GraphModel' : 'LayersModel'}`);
      if (dynamicGraph) return runAsync(images);
      // LayersModel.predict runs in inference mode (training false: no dropout, BatchNorm moving statistics).
      let out: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap;
      try {
        out = usePredict ? m.predict!(images) : m.execute!(images);
      } catch (error) {
        // a graph with dynamic ops runs only through executeAsync, which tfjs-converter's message names
        if (kind === 'tfjs-graph' && typeof m.executeAsync === 'function' && /executeAsync/.test(String(error))) {
          dynamicGraph = true;
          return runAsync(images);
        }
        // e.g. a model built for other images: tfjs' own message, under the option it concerns
        throw invalid(
          'INVALID_ARGUMENT',
          argument,
          `a model that runs on images [${images.shape.join(', ')}]`,
          `an error: ${(error as Error).message}`,
        );
      }
      return { logits: oneOutput(out, argument) };
    },
    variables: () => [],
  };
}

/** The logits of a tfjs model's answer: one tensor, or a list or (GraphModel) map of named outputs holding one. */
function oneOutput(out: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, argument: string): tf.Tensor2D {
  const outputs = out instanceof tf.Tensor ? [out] : Array.isArray(out) ? out : Object.values(out ?? {});
  if (outputs.length !== 1) {
    tf.dispose(outputs);
    throw invalid('INVALID_ARGUMENT', argument, 'a model with one output (the logits)', `${outputs.length} outputs`);
  }
  return checkLogits(outputs[0], argument);
}

function tokensNeeded(argument: string, given: string) {
  return invalid(
    'INVALID_ARGUMENT',
    argument,
    "a Distillery ViT teacher for loss 'trg' (it matches the teachers' patch tokens)",
    given,
  );
}

function disposeOthers(out: Record<string, unknown>, keep: tf.Tensor): void {
  for (const v of Object.values(out)) {
    if (v instanceof tf.Tensor) {
      if (v !== keep) v.dispose();
    } else if (Array.isArray(v)) {
      for (const t of v) if (t instanceof tf.Tensor && t !== keep) t.dispose();
    } else if (v && typeof v === 'object') {
      for (const t of Object.values(v)) if (t instanceof tf.Tensor && t !== keep) t.dispose();
    }
  }
}

function checkLogits(value: unknown, argument: string): tf.Tensor2D {
  if (!(value instanceof tf.Tensor) || value.rank !== 2) {
    if (value instanceof tf.Tensor) value.dispose();
    throw invalid(
      'INVALID_ARGUMENT',
      argument,
      'logits of shape [batch, classes]',
      value instanceof tf.Tensor ? `a tensor of shape [${value.shape.join(', ')}]` : describeValue(value),
    );
  }
  if (value.dtype === 'float32') return value as tf.Tensor2D;
  const cast = tf.cast(value, 'float32') as tf.Tensor2D;
  value.dispose();
  return cast;
}

// `@distillery/vit/load`: rebuild a saved model for inference. Only the model classes that model.json names and
// the safetensors reader; nothing for training.
export {
  buildModel,
  type LoadedModel,
  type LoadModelOptions,
  loadModel,
  MODEL_ARCHITECTURES,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  type ModelArchitecture,
  type ModelFiles,
  type ModelJson,
  parseModelJson,
  type SavableModel,
} from './io/model-json';

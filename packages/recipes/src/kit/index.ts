// The kit the recipes share: data, training, evaluation and report plumbing, so that a recipe is its settings plus
// its method.
export { type AcceptDataOptions, acceptData } from './accept-data';
export { type ClassMeansDataset, classMeans } from './class-means';
export { type ClassificationData, loadClassificationData } from './classification-data';
export { DIGITS, type DigitsSplitOptions, digitsSplit } from './digits-split';
export {
  type ClassifierEvaluation,
  type EvaluateClassifierOptions,
  evaluateClassifier,
  type LabelledDataset,
} from './evaluate-classifier';
export {
  type EvaluateMultiLabelOptions,
  evaluateMultiLabel,
  type MultiLabelDataset,
  type MultiLabelEvaluation,
  multiLabelScores,
} from './evaluate-multi-label';
export {
  FASHION_MNIST_SMOKE,
  FASHION_MNIST_VALIDATION_PER_CLASS,
  type FashionMnistPools,
  type FashionMnistPoolsOptions,
  type FashionMnistSplit,
  type FashionMnistSplitOptions,
  fashionMnistPools,
  fashionMnistSplit,
} from './fashion-mnist-split';
export {
  type LongTailSplit,
  type LongTailSplitOptions,
  longTailSplit,
  type SubsettableDataset,
} from './long-tail-split';
export { type ImageDataset, type PcaFeatures, type PcaFeaturesOptions, pcaFeatures } from './pca-features';
export { groupRow, historyCurves, type PerClassBarsOptions, perClassBars, type RunHistory } from './report-builders';
export {
  type ComparedModel,
  type ComparedStudent,
  type TeacherStudentsOptions,
  teacherStudents,
} from './teacher-students';
export { timeForwards } from './time-forwards';
export {
  type ClassifierModel,
  type TeacherLogits,
  type TrainClassifierOptions,
  type TrainedClassifier,
  trainClassifier,
} from './train-classifier';
export { type WarmupCosineOptions, warmupCosine } from './warmup-cosine';

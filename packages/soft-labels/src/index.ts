/**
 * @distillery/soft-labels — soft-label targets for distillation and self-distillation. Every target is a constant
 * (detached from its inputs), as in the reference code.
 */
export { type MixupTargetOptions, mixupTargets } from './mixing/mixup-targets';
export { labelSmoothing } from './smoothing/label-smoothing';
export { type TeacherSoftLabelOptions, teacherSoftLabels } from './teacher/teacher-soft-labels';
export { uskdRankScores } from './uskd/rank-scores';
export { smoothedTargetLabel } from './uskd/smoothed-target-label';
export {
  disposeTargetColumns,
  gatherColumns,
  type TargetColumns,
  uskdTargetColumns,
} from './uskd/target-columns';
export { type ZipfNonTargetOptions, zipfNonTargetLabels } from './uskd/zipf-non-target-labels';
export { assertSoftTargets } from './validation/soft-targets';

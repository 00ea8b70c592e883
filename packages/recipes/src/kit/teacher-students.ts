import { checkOptions, describeValue, invalid } from '@distillery/tensor/errors';
import type { PerClassPanel, RunReport, Series } from '../report';
import { historyCurves, perClassBars, type RunHistory } from './report-builders';

/** A trained model of a teacher → students comparison. */
export interface ComparedModel extends RunHistory {
  /** Top-1 test accuracy. */
  overall: number;
  parameters: number;
}

/** A student: its key (metrics, weights), its loss's name, its evaluation against the teacher's predictions. */
export interface ComparedStudent extends ComparedModel {
  key: string;
  perClass: number[];
  /** Fraction of test images predicted as the teacher predicts them. */
  agreement?: number;
}

export interface TeacherStudentsOptions {
  /** The teacher, and how the table calls it ('ResNet teacher'). */
  teacher: ComparedModel & { label: string };
  /** The students, the baseline among them. */
  students: readonly ComparedStudent[];
  /** The key of the student the others are compared with ('ce'). */
  baseline: string;
  /** Training images per class (the per-class panel). */
  counts: number[];
  /** How a student's row starts (default 'ViT student'). */
  studentLabel?: string;
}

/**
 * The metrics and report parts of a teacher → students comparison (distillation recipes: several students of one
 * teacher that differ only in the loss): `metrics` `{ teacher: { top1, parameters }, students: { key: { top1,
 * agreementWithTeacher, perClass } } }`, the table (parameters, top-1, gain over the baseline student — headed
 * `vs <BASELINE KEY>` — and agreement), the
 * test-accuracy and training-loss curves and the per-class panel.
 */
export function teacherStudents<S extends ComparedStudent>(
  options: TeacherStudentsOptions & { students: readonly S[] },
): {
  /** The baseline student. */
  baseline: S;
  metrics: { teacher: { top1: number; parameters: number }; students: Record<string, unknown> };
  table: NonNullable<RunReport['table']>;
  curves: Record<string, Series[]>;
  perClass: PerClassPanel;
} {
  const o = checkOptions<TeacherStudentsOptions & { students: readonly S[] }>(options ?? null, {
    teacher: true,
    students: true,
    baseline: true,
    counts: true,
    studentLabel: true,
  });
  const { teacher, students, baseline, counts, studentLabel = 'ViT student' } = o;
  if (!teacher || typeof teacher.overall !== 'number') {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.teacher',
      'a trained teacher { label, overall, parameters, history }',
      describeValue(teacher),
    );
  }
  if (!Array.isArray(students) || students.length === 0) {
    throw invalid('INVALID_ARGUMENT', 'options.students', 'a non-empty array of students', describeValue(students));
  }
  const base = students.find((r) => r.key === baseline);
  if (!base) {
    throw invalid(
      'INVALID_ARGUMENT',
      'options.baseline',
      `one of the students' keys (${students.map((r) => r.key).join(', ')})`,
      describeValue(baseline),
    );
  }
  return {
    baseline: base,
    metrics: {
      teacher: { top1: teacher.overall, parameters: teacher.parameters },
      students: Object.fromEntries(
        students.map((r) => [r.key, { top1: r.overall, agreementWithTeacher: r.agreement, perClass: r.perClass }]),
      ),
    },
    table: {
      headers: ['model', 'parameters', 'top-1', `vs ${baseline.toUpperCase()}`, 'agreement'],
      rows: [
        [teacher.label, teacher.parameters, teacher.overall, '', ''],
        ...students.map((r) => [
          `${studentLabel}, ${r.name}`,
          r.parameters,
          r.overall,
          r === base ? '' : r.overall - base.overall,
          r.agreement ?? '',
        ]),
      ],
    },
    curves: historyCurves([{ name: 'teacher', history: teacher.history }, ...students], {
      'test accuracy': 'testAccuracy',
      'training loss': 'loss',
    }),
    perClass: perClassBars({ counts, accuracy: Object.fromEntries(students.map((r) => [r.name, r.perClass])) }),
  };
}

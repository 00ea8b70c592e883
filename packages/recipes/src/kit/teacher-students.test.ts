import { describe, expect, it } from 'vitest';
import { teacherStudents } from './teacher-students';

describe('teacherStudents', () => {
  const history = [{ epoch: 0, loss: 1, testAccuracy: 0.5 }];
  const student = (key: string, name: string, overall: number, agreement: number) => ({
    key,
    name,
    overall,
    agreement,
    parameters: 100,
    perClass: [overall, overall],
    history,
  });
  const students = [student('ce', 'CE', 0.5, 0.6), student('kd', 'KD', 0.75, 0.9)];
  const teacher = { label: 'ResNet teacher', name: 'teacher', overall: 0.8, parameters: 1000, history };

  it('metrics, table (gain over the baseline by key, not by position), curves and the per-class panel', () => {
    const s = teacherStudents({ teacher, students: [...students].reverse(), baseline: 'ce', counts: [5, 5] });
    expect(s.baseline.key).toBe('ce');
    expect(s.metrics).toEqual({
      teacher: { top1: 0.8, parameters: 1000 },
      students: {
        kd: { top1: 0.75, agreementWithTeacher: 0.9, perClass: [0.75, 0.75] },
        ce: { top1: 0.5, agreementWithTeacher: 0.6, perClass: [0.5, 0.5] },
      },
    });
    expect(s.table.headers).toEqual(['model', 'parameters', 'top-1', 'vs CE', 'agreement']);
    expect(s.table.rows).toEqual([
      ['ResNet teacher', 1000, 0.8, '', ''],
      ['ViT student, KD', 100, 0.75, 0.25, 0.9],
      ['ViT student, CE', 100, 0.5, '', 0.6],
    ]);
    expect(s.curves['test accuracy']!.map((c) => c.name)).toEqual(['teacher', 'KD', 'CE']);
    expect(s.perClass.accuracy).toEqual({ KD: [0.75, 0.75], CE: [0.5, 0.5] });
  });

  it('refuses a baseline that is not a student', () => {
    expect(() => teacherStudents({ teacher, students, baseline: 'dkd', counts: [5, 5] })).toThrow(
      /options\.baseline: expected one of the students' keys \(ce, kd\)/,
    );
  });
});

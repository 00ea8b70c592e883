"""Reference values for CLKD (instanceLogitLoss, classLogitLoss, classCorrelationLoss, clkdLoss) and TRG (trgLoss,
contextualLoss): packages/losses/test/fixtures/relational-*.json.
Run: /usr/bin/python3 tools/reference/losses/relational.py

SELF-CONSISTENCY CHECKS, NOT FIDELITY CHECKS. Neither paper has official code, so nothing here can show that the
losses are the papers' own:
- CLKD (arXiv 2211.14773): the two functions below are transcriptions of the two public third-party
  re-implementations (read at the pinned commits; written out here, not imported), which differ in the correlation
  matrix: `clkd_streamlined` (HyunJunSik/StreamLined @e4ab795, Distiller/CLKD.py `CLKD_loss`: [C, C] matrix, plain
  Frobenius norm) and `clkd_malware_kd` (HyunJunSik/Malware-KD @7e37d07, distiller/CLKD.py `CLKD_loss`: [N, N]
  matrix, squared norm). `clkd_parts` is our own PyTorch version of the options that neither covers (normalizer
  'batch', the other norm); it is asserted equal to both transcriptions where they overlap.
- TRG (arXiv 2306.12442): `trg_ref` is our own PyTorch implementation of the choices documented in
  packages/losses/src/relational/trg-loss.ts (k, sigma, sampling, temperature, reductions), so the fixtures check the
  tfjs code against an independent implementation of the same definitions, not against the paper.
"""
import numpy as np
import torch
import torch.nn.functional as F

from common import case, f32, logits, ties, write


# --- HyunJunSik/StreamLined @e4ab795, Distiller/CLKD.py ------------------------------------------------------------
def clkd_streamlined(logits_student, logits_teacher):
    student_norm = F.normalize(logits_student, p=2, dim=1)
    teacher_norm = F.normalize(logits_teacher, p=2, dim=1)
    instance_loss = F.mse_loss(student_norm, teacher_norm)
    t_stu = torch.t(logits_student)
    t_tea = torch.t(logits_teacher)
    t_student_norm = F.normalize(t_stu, p=2, dim=1)
    t_teacher_norm = F.normalize(t_tea, p=2, dim=1)
    class_loss = F.mse_loss(t_student_norm, t_teacher_norm)
    N, C = logits_student.shape
    student_mean = torch.mean(logits_student, dim=0)
    teacher_mean = torch.mean(logits_teacher, dim=0)
    diff_s = logits_student - student_mean.unsqueeze(0)
    B_s = diff_s.T @ diff_s / (C - 1)
    diff_t = logits_teacher - teacher_mean.unsqueeze(0)
    B_t = diff_t.T @ diff_t / (C - 1)
    diff = B_s - B_t
    diff_norm = torch.norm(diff)
    class_corr_loss = (1 / (C ** 2)) * diff_norm
    return instance_loss, class_loss, class_corr_loss


# --- HyunJunSik/Malware-KD @7e37d07, distiller/CLKD.py -------------------------------------------------------------
def clkd_malware_kd(logits_student, logits_teacher):
    student_norm = F.normalize(logits_student, p=2, dim=1)
    teacher_norm = F.normalize(logits_teacher, p=2, dim=1)
    instance_loss = F.mse_loss(student_norm, teacher_norm)
    t_stu = torch.t(logits_student)
    t_tea = torch.t(logits_teacher)
    t_student_norm = F.normalize(t_stu, p=2, dim=1)
    t_teacher_norm = F.normalize(t_tea, p=2, dim=1)
    class_loss = F.mse_loss(t_student_norm, t_teacher_norm)
    N, C = logits_student.shape
    student_mean = torch.mean(logits_student, dim=0)
    teacher_mean = torch.mean(logits_teacher, dim=0)
    B_s, B_t = torch.zeros((N, N)), torch.zeros((N, N))
    for j in range(C):
        student_j = logits_student[:, j]
        diff_s = student_j - student_mean[j]
        B_s = B_s + torch.outer(torch.t(diff_s), diff_s)
        teacher_j = logits_teacher[:, j]
        diff_t = teacher_j - teacher_mean[j]
        B_t = B_t + torch.outer(torch.t(diff_t), diff_t)
    B_s = B_s / (C - 1)
    B_t = B_t / (C - 1)
    diff = B_s - B_t
    diff_norm = torch.norm(diff, 'fro')
    class_corr_loss = (1 / (C ** 2)) * diff_norm ** 2
    return instance_loss, class_loss, class_corr_loss


def clkd_parts(s, t, normalizer='classes', squared=None, correlation='class'):
    """Ours: either matrix, either normaliser, either norm (checked against the transcriptions in main())."""
    t = t.detach()
    ins = F.mse_loss(F.normalize(s, p=2, dim=1), F.normalize(t, p=2, dim=1))
    cla = F.mse_loss(F.normalize(s.t(), p=2, dim=1), F.normalize(t.t(), p=2, dim=1))
    n, c = s.shape
    den = (c - 1) if normalizer == 'classes' else (n - 1)
    if squared is None:
        squared = correlation == 'sample'

    def corr(z):
        d = z - z.mean(0, keepdim=True)
        return (d.t() @ d if correlation == 'class' else d @ d.t()) / den
    diff = corr(s) - corr(t)
    norm = (diff ** 2).sum() if squared else torch.norm(diff)
    return ins, cla, norm / c ** 2


def clkd_total(parts, weights=(0.5, 1.0, 0.4)):
    # the re-implementations' KD part: 0.5·(L_ins + 2·L_cla) + 0.4·L_cc (their 0.1·CE is not part of clkdLoss)
    return weights[0] * parts[0] + weights[1] * parts[1] + weights[2] * parts[2]


def trg_ref(studentTokens, teacherTokens, tokenIndices, k=8, sigma='auto', temperature=0.1, weights=(1, 1, 1),
            part='total'):
    t_all = teacherTokens.detach()
    idx = torch.tensor(tokenIndices)
    n, m = idx.shape
    d = studentTokens.shape[2]
    s = torch.stack([studentTokens[i, idx[i]] for i in range(n)])
    t = torch.stack([t_all[i, idx[i]] for i in range(n)])
    sf, tf_ = s.reshape(n * m, d), t.reshape(n * m, d)
    nodes = n * m
    kk = min(k, nodes - 1)
    ds = torch.cdist(sf, sf) ** 2
    dt = torch.cdist(tf_, tf_) ** 2
    dt_noself = dt + torch.eye(nodes) * 1e30
    kth = torch.topk(dt_noself, kk, dim=1, largest=False).values[:, -1:]
    nb = (dt_noself <= kth)
    width = dt[nb].mean() if sigma == 'auto' else torch.tensor(float(sigma))

    def masked_log_softmax(dist):
        a = torch.exp(-dist / (2 * width))
        a = a.masked_fill(~nb, float('-inf'))
        return F.log_softmax(a, dim=1)
    lps, lpt = masked_log_softmax(ds), masked_log_softmax(dt)
    ps = lps.exp()
    local = (ps * (lps.masked_fill(~nb, 0.0) - lpt.masked_fill(~nb, 0.0))).sum() / nodes
    sim = F.normalize(sf, dim=1) @ F.normalize(tf_, dim=1).t() / temperature
    glob = F.cross_entropy(sim, torch.arange(nodes))

    def cs(x):
        return F.softmax(x @ x.transpose(1, 2) / d ** 0.5, dim=-1)
    ctx = F.mse_loss(cs(s), cs(t))
    parts = {'local': local, 'global': glob, 'contextual': ctx,
             'total': weights[0] * local + weights[1] * glob + weights[2] * ctx}
    return parts[part]


def contextual_ref(studentTokens, teacherTokens):
    d = studentTokens.shape[2]

    def cs(x):
        return F.softmax(x @ x.transpose(1, 2) / d ** 0.5, dim=-1)
    return F.mse_loss(cs(studentTokens), cs(teacherTokens.detach()))


def main():
    clkd = []
    shapes = [('n8c10', 8, 10, 'normal'), ('n64c100', 64, 100, 'normal'), ('n2c1000', 2, 1000, 'normal'),
              ('extreme50', 8, 10, 'extreme50'), ('extreme1e4', 8, 10, 'extreme1e4')]
    for seed, (name, n, c, kind) in enumerate(shapes):
        rng = np.random.default_rng(900 + seed)
        s, t = logits(rng, n, c, kind=kind), logits(rng, n, c, kind=kind, scale=3.0)
        inp = {'student': s, 'teacher': t}
        # ours agrees with both transcriptions where they overlap
        st, tt = torch.tensor(s), torch.tensor(t)
        for ours, theirs in [(clkd_parts(st, tt), clkd_streamlined(st, tt)),
                             (clkd_parts(st, tt, correlation='sample'), clkd_malware_kd(st, tt))]:
            for a, b in zip(ours, theirs):
                assert abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b))), name
        clkd.append(case(f'clkd {name} (StreamLined, class matrix)', 'clkdLoss', inp, {},
                         lambda student, teacher: clkd_total(clkd_streamlined(student, teacher.detach())),
                         ['student'], ['teacher']))
        if n <= 64:
            clkd.append(case(f'clkd {name} (Malware-KD, sample matrix)', 'clkdLoss', inp, {'correlation': 'sample'},
                             lambda student, teacher: clkd_total(clkd_malware_kd(student, teacher.detach())),
                             ['student'], ['teacher']))
        if name in ('n8c10', 'n64c100'):
            clkd.append(case(f'instance {name}', 'instanceLogitLoss', inp, {},
                             lambda student, teacher: clkd_streamlined(student, teacher.detach())[0],
                             ['student'], ['teacher']))
            clkd.append(case(f'class {name}', 'classLogitLoss', inp, {},
                             lambda student, teacher: clkd_streamlined(student, teacher.detach())[1],
                             ['student'], ['teacher']))
            clkd.append(case(f'class correlation {name}', 'classCorrelationLoss', inp, {},
                             lambda student, teacher: clkd_streamlined(student, teacher.detach())[2],
                             ['student'], ['teacher']))
            clkd.append(case(f'sample correlation {name}', 'classCorrelationLoss', inp, {'correlation': 'sample'},
                             lambda student, teacher: clkd_malware_kd(student, teacher.detach())[2],
                             ['student'], ['teacher']))
    rng = np.random.default_rng(950)
    s, t = logits(rng, 8, 10), ties(rng, 8, 10)
    clkd.append(case('class correlation, batch normaliser, squared norm, tied teacher (ours)', 'classCorrelationLoss',
                     {'student': s, 'teacher': t}, {'normalizer': 'batch', 'squaredNorm': True},
                     lambda student, teacher: clkd_parts(student, teacher, 'batch', True)[2], ['student'], ['teacher']))
    clkd.append(case('sample correlation, plain norm (ours)', 'classCorrelationLoss',
                     {'student': s, 'teacher': t}, {'correlation': 'sample', 'squaredNorm': False},
                     lambda student, teacher: clkd_parts(student, teacher, 'classes', False, 'sample')[2],
                     ['student'], ['teacher']))
    clkd.append(case('clkd weights 1/2/0.1, zero-row teacher', 'clkdLoss', {'student': s, 'teacher': t},
                     {'instanceWeight': 1, 'classWeight': 2, 'correlationWeight': 0.1},
                     lambda student, teacher: clkd_total(clkd_streamlined(student, teacher.detach()), (1, 2, 0.1)),
                     ['student'], ['teacher']))
    write('relational-clkd.json', clkd, 'relational.py')

    trg = []
    for seed, (n, l, d, m, opts) in enumerate([(4, 12, 8, 5, {}), (8, 49, 16, 16, {}),
                                                (2, 20, 16, 6, {'k': 3, 'sigma': 4.0, 'temperature': 0.5}),
                                                (3, 10, 6, 10, {'k': 4, 'weights': {'local': 2, 'global': 0.5,
                                                                                      'contextual': 3}})]):
        rng = np.random.default_rng(1000 + seed)
        s = f32(rng.standard_normal((n, l, d)))
        t = f32(rng.standard_normal((n, l, d)) * 1.5)
        idx = [sorted(int(v) for v in rng.permutation(l)[:m]) for _ in range(n)]
        w = opts.get('weights', {})
        kw = {'k': opts.get('k', 8), 'sigma': opts.get('sigma', 'auto'), 'temperature': opts.get('temperature', 0.1),
              'weights': (w.get('local', 1), w.get('global', 1), w.get('contextual', 1))}
        options = {**opts, 'tokenIndices': idx}
        for part in ['local', 'global', 'contextual', 'total']:
            trg.append(case(f'trg {part} n{n} l{l} d{d} m{m} {opts}', 'trgLoss',
                            {'studentTokens': s, 'teacherTokens': t}, {**options, 'part': part},
                            lambda studentTokens, teacherTokens, part=part:
                            trg_ref(studentTokens, teacherTokens, idx, part=part, **kw),
                            ['studentTokens'], ['teacherTokens']))
        trg.append(case(f'contextual (all tokens) n{n} l{l} d{d}', 'contextualLoss',
                        {'studentTokens': s, 'teacherTokens': t}, {}, contextual_ref,
                        ['studentTokens'], ['teacherTokens']))
    write('relational-trg.json', trg, 'relational.py')


if __name__ == '__main__':
    main()

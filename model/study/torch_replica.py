"""A PyTorch replica of the TF.js trainer (model/train/train.ts, network.ts, examples.ts,
pretrainedInput.ts) over the data `scripts/model.sh torch-export` writes, to sweep recipe variants on a GPU:
a run takes seconds there where the TF.js trainer takes ten minutes on one core. Outside the choice of the
shipped model; model/study/README.md says how to run it and what it found.

Same as the trainer: the split, vocabulary, token ids and fixed input table (exported), the input layer
x(id) = [glove(id) + deltaScale * delta(id) | priors(id)] W + b, PyTorch's GRU/LSTM equations over packed
sequences (which the engine runs), the augmentations (word dropout, prefixes, same-label concatenations),
length-bucketed batches, Adam, clipping by global norm, early stopping on validation accuracy.
Not the same: the random draws (torch's generator, not the trainer's), so a seed here is not the TF.js seed.

  python3 model/study/torch_replica.py [VARIANTS [SEEDS [CV_SEEDS]]]
    VARIANTS  comma-separated names of VARIANTS below (default all); SEEDS of the plain split (default
              42,1,2); CV_SEEDS of the 10-fold cross-validation (default 42; '' for none)
  env: STUDY_DIR (default data/cache/study), OUTFILE (default STUDY_DIR/results.jsonl, appended),
       PROCS (parallel runs, default 12), FOLDS (default 0..9), SKIP (a results file whose runs are skipped),
       EPOCHS (override, for a smoke test), MODELS_DIR (default STUDY_DIR/models: each run's weights, which
       the distillation variants read as their teachers), THREADS (torch threads per run on a CPU)

A plain-split run records its probabilities on every set, so summarise.py can score the ensemble of a
variant's seeds (the mean of their probabilities) beside the single runs.
"""
import json, math, os, random, sys, time
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

STUDY_DIR = os.environ.get('STUDY_DIR', 'data/cache/study')
DEV = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
MODELS_DIR = os.environ.get('MODELS_DIR', os.path.join(STUDY_DIR, 'models'))
BASE = None
DATA = None


def load():
    global BASE, DATA
    if DATA is None:
        DATA = json.load(open(os.path.join(STUDY_DIR, 'data.json')))
        b = np.fromfile(os.path.join(STUDY_DIR, 'base.f32'), dtype=np.float32).reshape(DATA['vocabSize'], DATA['width'])
        BASE = torch.from_numpy(b).to(DEV)
    return DATA


class Net(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = DATA
        self.cfg = cfg
        E, H = cfg['embed'], cfg['hidden']
        self.proj = nn.Linear(d['width'], E)
        nn.init.uniform_(self.proj.weight, -1 / math.sqrt(d['width']), 1 / math.sqrt(d['width']))
        nn.init.zeros_(self.proj.bias)
        self.delta = nn.Parameter(torch.zeros(d['trainedRows'], d['vectorWidth']))
        rnn = nn.GRU if cfg['cell'] == 'gru' else nn.LSTM
        self.rnn = rnn(E, H, num_layers=cfg['layers'], batch_first=True)
        if cfg['cell'] == 'lstm':
            for k in range(cfg['layers']):
                getattr(self.rnn, f'bias_ih_l{k}').data[H:2 * H] = 1.0
        feat = H * (2 if cfg['readout'] in ('lastmean', 'lastmax') else 1)
        self.head = nn.Linear(feat, 1)
        nn.init.uniform_(self.head.weight, -1 / math.sqrt(H), 1 / math.sqrt(H))
        nn.init.zeros_(self.head.bias)
        if cfg['readout'] == 'bow':
            self.bow = nn.Linear(E, 1)

    def embed(self, ids):
        vw, tr = DATA['vectorWidth'], DATA['trainedRows']
        x = self.proj(BASE[ids])
        did = torch.where(ids < tr, ids, torch.zeros_like(ids))
        return x + (self.cfg['deltaScale'] * self.delta[did]) @ self.proj.weight[:, :vw].t()

    def forward(self, ids, lengths, drop=False):
        cfg = self.cfg
        x = self.embed(ids)
        if drop:
            x = nn.functional.dropout(x, cfg['embedDropout'])
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, hc = self.rnn(packed)
        h = hc[0] if isinstance(hc, tuple) else hc
        last = h[-1]
        r = cfg['readout']
        if r == 'last':
            feat = last
        else:
            seq, _ = pad_packed_sequence(out, batch_first=True)
            mask = (torch.arange(seq.shape[1], device=DEV)[None, :] < lengths[:, None]).float()[..., None]
            mean = (seq * mask).sum(1) / lengths[:, None].float()
            if r == 'mean':
                feat = mean
            elif r == 'max':
                feat = (seq - (1 - mask) * 1e4).max(1).values
            elif r == 'lastmean':
                feat = torch.cat([last, mean], 1)
            elif r == 'lastmax':
                feat = torch.cat([last, (seq - (1 - mask) * 1e4).max(1).values], 1)
            elif r == 'bow':
                feat = last
        if drop:
            feat = nn.functional.dropout(feat, cfg['outputDropout'])
        logit = self.head(feat)[:, 0]
        if r == 'bow':
            m = (torch.arange(x.shape[1], device=DEV)[None, :] < lengths[:, None]).float()[..., None]
            logit = logit + self.bow((x * m).sum(1) / lengths[:, None].float())[:, 0]
        return logit


def epoch_examples(train, cfg, rng):
    out = []
    oov = DATA['oovId']
    wd = cfg['wordDropout']
    mt = cfg['maxTokens']

    def drop(ids):
        return [oov if rng.random() < wd else i for i in ids]

    for ids, y in train:
        out.append((drop(ids[-mt:]), y))
        if len(ids) >= 4 and rng.random() < cfg['prefixShare']:
            mn = math.ceil(len(ids) / 2)
            L = mn + rng.randrange(len(ids) - mn)  # len(ids) >= 4, so mn < len(ids)
            out.append((drop(ids[:L][-mt:]), y))
    by = {0: [e for e in train if e[1] == 0], 1: [e for e in train if e[1] == 1]}
    for _ in range(round(cfg['concatShare'] * len(train))):
        y = train[rng.randrange(len(train))][1]
        n = 2 + rng.randrange(cfg['concatMax'] - 1)
        joined = []
        for _ in range(n):
            joined += by[y][rng.randrange(len(by[y]))][0]
        out.append((drop(joined[-mt:]), y))
    return [e for e in out if len(e[0]) > 0]


def batches(examples, bs, rng):
    order = list(examples)
    rng.shuffle(order)
    groups = []
    w = bs * 50
    for s in range(0, len(order), w):
        chunk = sorted(order[s:s + w], key=lambda e: -len(e[0]))
        for b in range(0, len(chunk), bs):
            groups.append(chunk[b:b + bs])
    rng.shuffle(groups)
    return groups


def tensors(group):
    L = max(len(e[0]) for e in group)
    ids = torch.zeros(len(group), L, dtype=torch.long)
    for i, e in enumerate(group):
        ids[i, :len(e[0])] = torch.tensor(e[0])
    return ids.to(DEV), torch.tensor([len(e[0]) for e in group], device=DEV)


@torch.no_grad()
def probs(net, seqs, bs=512):
    net.eval()
    idx = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    out = [0.0] * len(seqs)
    for s in range(0, len(idx), bs):
        part = [i for i in idx[s:s + bs] if len(seqs[i]) > 0]
        empty = [i for i in idx[s:s + bs] if len(seqs[i]) == 0]
        for i in empty:
            out[i] = 0.5
        if not part:
            continue
        ids, lengths = tensors([(seqs[i], 0) for i in part])
        p = torch.sigmoid(net(ids, lengths)).tolist()
        for i, v in zip(part, p):
            out[i] = v
    net.train()
    return out


def acc(p, y):
    return sum((pi > 0.5) == (yi == 1) for pi, yi in zip(p, y)) / max(1, len(y))


def model_file(name, seed, fold):
    """Where a run's best weights are saved."""
    return os.path.join(MODELS_DIR, f'{name}-s{seed}-f{"none" if fold is None else fold}.pt')


def teachers_of(cfg, fold):
    """The saved runs of the teacher variant on the same split (every seed there is), in eval mode."""
    name, split = cfg['teacher'], 'none' if fold is None else fold
    found = os.listdir(MODELS_DIR) if os.path.isdir(MODELS_DIR) else []
    files = sorted(f for f in found if f.startswith(f'{name}-s') and f.endswith(f'-f{split}.pt'))
    if not files:
        raise SystemExit(f'torch_replica: no {name}-s*-f{split}.pt in {MODELS_DIR}: run the variant {name} first')
    nets = []
    for f in files:
        net = Net(cfg['teacherCfg']).to(DEV)
        net.load_state_dict(torch.load(os.path.join(MODELS_DIR, f), map_location=DEV))
        net.eval()
        nets.append(net)
    return nets


def run(job):
    cfg = job['cfg']
    d = load()
    seed = job['seed']
    if os.environ.get('THREADS'):
        torch.set_num_threads(int(os.environ['THREADS']))
    torch.manual_seed(seed)
    rng = random.Random(seed)
    rows = d['rows']
    fold = job.get('fold')
    if fold is None:
        tr = [r for r in rows if r['s'] == 'train']
        va = [r for r in rows if r['s'] == 'val']
        te = [r for r in rows if r['s'] == 'test']
    else:
        te = [r for r in rows if r['k'] == fold]
        va = [r for r in rows if r['k'] != fold and r['s'] == 'val']
        tr = [r for r in rows if r['k'] != fold and r['s'] != 'val']
    weights = cfg['dataWeights']
    train = [(r['ids'], r['y']) for r in tr for _ in range(weights[r['f']]) if len(r['ids']) > 0]
    teachers = teachers_of(cfg, fold) if cfg.get('teacher') else []
    net = Net(cfg).to(DEV)
    opt = torch.optim.Adam(net.parameters(), lr=cfg['lr'], eps=1e-7)
    best = (-1, 0, None)
    t0 = time.time()
    vy = [r['y'] for r in va]
    for ep in range(1, cfg['epochs'] + 1):
        for g in batches(epoch_examples(train, cfg, rng), cfg['batchSize'], rng):
            ids, lengths = tensors(g)
            y = torch.tensor([e[1] for e in g], dtype=torch.float32, device=DEV)
            logits = net(ids, lengths, drop=True)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y)
            if teachers:
                # Distillation: the mean of the teachers' probabilities on the same (augmented) batch as a
                # soft target beside the label.
                with torch.no_grad():
                    soft = torch.stack([torch.sigmoid(t(ids, lengths)) for t in teachers]).mean(0)
                a = cfg['labelWeight']
                loss = a * loss + (1 - a) * nn.functional.binary_cross_entropy_with_logits(logits, soft)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), cfg['clipNorm'])
            opt.step()
        va_acc = acc(probs(net, [r['ids'] for r in va]), vy)
        if va_acc > best[0]:
            best = (va_acc, ep, {k: v.detach().clone() for k, v in net.state_dict().items()})
        if ep - best[1] >= cfg['patience']:
            break
    net.load_state_dict(best[2])
    os.makedirs(MODELS_DIR, exist_ok=True)
    torch.save(best[2], model_file(job['name'], seed, fold))
    res = {'name': job['name'], 'seed': seed, 'fold': fold, 'bestEpoch': best[1], 'val': best[0],
           'seconds': round(time.time() - t0, 1)}
    if fold is None:
        scored = {'val660': [r for r in va if r['f'] in (0, 1)], **d['sets']}
        scored['r50'] = [{'ids': r['ids'][:math.ceil(len(r['ids']) * 0.5)], 'y': r['y']} for r in d['sets']['reviews']]
        res['probs'] = {}
        for n, rs in scored.items():
            p = probs(net, [r['ids'] for r in rs])
            res[n] = acc(p, [r['y'] for r in rs])
            res['probs'][n] = [round(v, 4) for v in p]
    else:
        pl = [r for r in te if r['f'] == 1]
        res['cvPL'] = acc(probs(net, [r['ids'] for r in pl]), [r['y'] for r in pl])
        res['cvAll'] = acc(probs(net, [r['ids'] for r in te]), [r['y'] for r in te])
    return res


def recipe_config(recipe):
    """The replica's configuration of the exported recipe (the trainer's option names)."""
    unsupported = {k: recipe.get(k) for k in ('weightAverage', 'members') if recipe.get(k) not in (None, 0, 1)}
    if unsupported or recipe.get('separateInputs'):
        raise SystemExit(f'torch_replica: the recipe uses options the replica lacks: {unsupported}')
    keys = ('cell', 'layers', 'hidden', 'embed', 'epochs', 'batchSize', 'patience', 'embedDropout',
            'outputDropout', 'wordDropout', 'prefixShare', 'concatShare', 'concatMax', 'maxTokens',
            'dataWeights', 'deltaScale', 'clipNorm')
    cfg = {k: recipe[k] for k in keys}
    cfg['lr'] = recipe['learningRate']
    cfg['dataWeights'] = cfg['dataWeights'] or [1] * len(recipe['data'])
    cfg['readout'] = 'last'
    return cfg


# Each variant changes the exported recipe ('base') in one respect. The readouts other than 'last' would need
# more per-key state to stream (a running mean or max of the hidden states, or of a per-token score).
VARIANTS = {
    'base': {},  # the shipped recipe: the head reads the last hidden state
    'h160': dict(hidden=160),
    'h192': dict(hidden=192),
    'l2': dict(layers=2),
    'lstm': dict(cell='lstm'),
    'mean': dict(readout='mean'),  # the head reads the mean of the hidden states over the text
    'max': dict(readout='max'),  # ... their elementwise max
    'lastmean': dict(readout='lastmean'),  # ... the last state and the mean side by side
    'lastmax': dict(readout='lastmax'),  # ... the last state and the max
    'bow': dict(readout='bow'),  # the last state plus a linear score of the mean input vector (fastText-like)
    'pl2': dict(dataWeights=[2, 2, 2]),  # the P&L sentences (second file) twice per epoch, as the others
    'lr1': dict(lr=0.001, epochs=14, patience=3),
    'drop4': dict(embedDropout=0.3, outputDropout=0.5),
    'noaug': dict(prefixShare=0.0, concatShare=0.0),
    'frozen': dict(deltaScale=0.0),  # GloVe vectors fixed
    'delta1': dict(deltaScale=1.0),  # GloVe vectors move as fast as the other weights
    'bs32': dict(batchSize=32),
    # Distillation into the shipped size: the label and the mean of the saved 'base' runs' probabilities
    # (every seed of base on the same split; run base first) as targets, weighted 1:1.
    'distil': dict(teacher='base', labelWeight=0.5),
}


def main():
    names = sys.argv[1].split(',') if len(sys.argv) > 1 else list(VARIANTS)
    seeds = [int(s) for s in (sys.argv[2].split(',') if len(sys.argv) > 2 else ['42', '1', '2'])]
    cvseeds = [int(s) for s in (sys.argv[3].split(',') if len(sys.argv) > 3 else ['42'])] if (len(sys.argv) <= 3 or sys.argv[3]) else []
    procs = int(os.environ.get('PROCS', '12'))
    epochs = os.environ.get('EPOCHS')
    jobs = []
    base = recipe_config(load()['recipe'])
    for n in names:
        cfg = {**base, **VARIANTS[n]}
        if cfg.get('teacher'):
            cfg['teacherCfg'] = {**base, **VARIANTS[cfg['teacher']]}
        if epochs:
            cfg['epochs'] = int(epochs)
        for s in seeds:
            jobs.append({'name': n, 'cfg': cfg, 'seed': s, 'order': (-1, s)})
        for s in cvseeds:
            for k in [int(x) for x in os.environ.get('FOLDS', ','.join(map(str, range(load()['folds'])))).split(',')]:
                jobs.append({'name': n, 'cfg': cfg, 'seed': s, 'fold': k, 'order': (k, s)})
    done = set()
    if os.environ.get('SKIP'):
        for line in open(os.environ['SKIP']):
            r = json.loads(line)
            done.add((r['name'], r['seed'], r['fold']))
    jobs = [j for j in jobs if (j['name'], j['seed'], j.get('fold')) not in done]
    jobs.sort(key=lambda j: j['order'])
    print(len(jobs), 'jobs', flush=True)
    out = os.environ.get('OUTFILE', os.path.join(STUDY_DIR, 'results.jsonl'))
    import multiprocessing as mp
    ctx = mp.get_context('spawn')
    t0 = time.time()
    with ctx.Pool(procs) as pool, open(out, 'a') as f:
        for r in pool.imap_unordered(run, jobs):
            f.write(json.dumps(r) + '\n')
            f.flush()
            print(round(time.time() - t0), json.dumps(r), flush=True)


if __name__ == '__main__':
    main()

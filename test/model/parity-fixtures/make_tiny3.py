"""Generates test/model/parity-fixtures/tiny-3label: a golden fixture in the format of ../shared/fixtures/distilbert/*
for a shape the shared ones do not cover (3 labels, 3 heads of 8, padded length = max_position_embeddings, one
example without padding), so `npm run parity` is checked on "any fixture of that format".

Independent of tunescope's engine: a float64 numpy forward written from the fixture README's definition of HF's
DistilBertForSequenceClassification, gradients by central finite differences in float64 (exact to ~1e-9 here),
AdamW (torch formulas) in float64. Run: python3 test/model/parity-fixtures/make_tiny3.py  (numpy only).
"""
import json, math, os, struct
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny-3label")
cfg = dict(activation="gelu", architectures=["DistilBertForSequenceClassification"], attention_dropout=0.1, dim=24, dropout=0.1,
           hidden_dim=40, id2label={"0": "neg", "1": "neu", "2": "pos"}, initializer_range=0.02, label2id={"neg": 0, "neu": 1, "pos": 2},
           max_position_embeddings=10, model_type="distilbert", n_heads=3, n_layers=2, pad_token_id=0, qa_dropout=0.1,
           seq_classif_dropout=0.2, sinusoidal_pos_embds=False, tie_weights_=True, vocab_size=50)
D, H, HID, V, P, L, C = cfg["dim"], cfg["n_heads"], cfg["hidden_dim"], cfg["vocab_size"], cfg["max_position_embeddings"], cfg["n_layers"], 3
dh = D // H
rng = np.random.RandomState(3)

names = [("distilbert.embeddings.word_embeddings.weight", (V, D)), ("distilbert.embeddings.position_embeddings.weight", (P, D)),
         ("distilbert.embeddings.LayerNorm.weight", (D,)), ("distilbert.embeddings.LayerNorm.bias", (D,))]
for i in range(L):
    p = f"distilbert.transformer.layer.{i}."
    for l in ["q_lin", "k_lin", "v_lin", "out_lin"]:
        names += [(f"{p}attention.{l}.weight", (D, D)), (f"{p}attention.{l}.bias", (D,))]
    names += [(f"{p}sa_layer_norm.weight", (D,)), (f"{p}sa_layer_norm.bias", (D,)), (f"{p}ffn.lin1.weight", (HID, D)), (f"{p}ffn.lin1.bias", (HID,)),
              (f"{p}ffn.lin2.weight", (D, HID)), (f"{p}ffn.lin2.bias", (D,)), (f"{p}output_layer_norm.weight", (D,)), (f"{p}output_layer_norm.bias", (D,))]
names += [("pre_classifier.weight", (D, D)), ("pre_classifier.bias", (D,)), ("classifier.weight", (C, D)), ("classifier.bias", (C,))]
params = {}
for n, s in names:
    if "LayerNorm.weight" in n or "layer_norm.weight" in n:
        v = 1 + 0.1 * rng.randn(*s)
    elif n.endswith(".bias"):
        v = 0.1 * rng.randn(*s)
    else:
        v = 0.2 * rng.randn(*s)
    params[n] = v.astype(np.float32).astype(np.float64)  # the file holds float32: the reference starts from those values

ids = np.array([[2, 11, 5, 17, 23, 8, 30, 41, 12, 3], [2, 7, 9, 3, 0, 0, 0, 0, 0, 0], [2, 44, 19, 25, 6, 14, 3, 0, 0, 0]])
mask = (np.arange(10)[None, :] < np.array([10, 4, 7])[:, None]).astype(np.int64)
labels = np.array([2, 0, 1])
B, S = ids.shape
erf = np.vectorize(math.erf)


def ln(x, w, b):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-12) * w + b


def forward(pr, dtype=np.float64):
    p = {k: v.astype(dtype) for k, v in pr.items()}
    x = ln(p["distilbert.embeddings.word_embeddings.weight"][ids] + p["distilbert.embeddings.position_embeddings.weight"][:S],
           p["distilbert.embeddings.LayerNorm.weight"], p["distilbert.embeddings.LayerNorm.bias"])
    hidden = [x]
    fmin = np.finfo(np.float32).min
    for i in range(L):
        q_ = f"distilbert.transformer.layer.{i}."
        lin = lambda t, n: t @ p[q_ + n + ".weight"].T + p[q_ + n + ".bias"]
        sh = lambda t: t.reshape(B, S, H, dh).transpose(0, 2, 1, 3)
        q = sh(lin(x, "attention.q_lin")) / dtype(math.sqrt(dh))
        k = sh(lin(x, "attention.k_lin"))
        v = sh(lin(x, "attention.v_lin"))
        sc = q @ k.transpose(0, 1, 3, 2)
        sc = np.where(mask[:, None, None, :] == 0, dtype(fmin), sc)
        sc = sc - sc.max(-1, keepdims=True)
        w = np.exp(sc)
        w = w / w.sum(-1, keepdims=True)
        ctx = (w @ v).transpose(0, 2, 1, 3).reshape(B, S, D)
        x = ln(lin(ctx, "attention.out_lin") + x, p[q_ + "sa_layer_norm.weight"], p[q_ + "sa_layer_norm.bias"])
        h = lin(x, "ffn.lin1")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)).astype(dtype))
        x = ln(lin(h, "ffn.lin2") + x, p[q_ + "output_layer_norm.weight"], p[q_ + "output_layer_norm.bias"])
        hidden.append(x)
    pooled = np.maximum(x[:, 0] @ p["pre_classifier.weight"].T + p["pre_classifier.bias"], 0)
    logits = pooled @ p["classifier.weight"].T + p["classifier.bias"]
    m = logits.max(-1, keepdims=True)
    lsm = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    ce = -lsm[np.arange(B), labels]
    return logits, lsm, ce, ce.mean(), hidden


logits, lsm, ce, loss, hidden = forward(params)
logits32 = forward(params, np.float32)[0]

grads = {}
hstep = 1e-6
for n, _ in names:
    g = np.zeros(params[n].size)
    flat = params[n].reshape(-1)
    for j in range(flat.size):
        o = flat[j]
        flat[j] = o + hstep
        lp = forward(params)[3]
        flat[j] = o - hstep
        lm = forward(params)[3]
        flat[j] = o
        g[j] = (lp - lm) / (2 * hstep)
    if n == "distilbert.embeddings.word_embeddings.weight":
        g.reshape(V, D)[cfg["pad_token_id"]] = 0  # padding_idx
    grads[n] = g.reshape(params[n].shape)


def stat(a):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    return dict(l2_norm=float(np.sqrt((a * a).sum())), sum=float(a.sum()), abs_sum=float(np.abs(a).sum()), max_abs=float(np.abs(a).max()), first5=[float(v) for v in a[:5]])


lr, b1, b2, eps, wd = 5e-4, 0.9, 0.999, 1e-8, 0.01
decay_names = [n for n, _ in names if not n.endswith(".bias") and "LayerNorm" not in n and "layer_norm" not in n]


def adamw(hf):
    out = {}
    for n, _ in names:
        w = wd if (not hf or n in decay_names) else 0.0
        g = grads[n]
        p = params[n] * (1 - lr * w)
        m = (1 - b1) * g
        v = (1 - b2) * g * g
        out[n] = p - (lr / (1 - b1)) * m / (np.sqrt(v) / math.sqrt(1 - b2) + eps)
    lg, _, _, ls, _ = forward(out)
    return dict(params_after_step={n: dict(l2_norm=stat(out[n])["l2_norm"], first5=stat(out[n])["first5"]) for n, _ in names},
                **{"classifier.weight_after_step": out["classifier.weight"].tolist(), "classifier.bias_after_step": out["classifier.bias"].tolist(),
                   "logits_after_step": lg.tolist(), "loss_after_step": float(ls)})


nz_rows = lambda g: [int(r) for r in range(g.shape[0]) if np.any(g[r] != 0)]
expected = dict(
    description="tunescope-generated golden outputs (float64 numpy reference + float64 finite-difference gradients); see make_tiny3.py",
    dtype="float64 reference", num_labels=C,
    logits=logits.tolist(), log_softmax=lsm.tolist(), per_example_cross_entropy=ce.tolist(), loss=float(loss),
    predicted_label_ids=[int(v) for v in logits.argmax(-1)],
    hidden_cls_first8=dict(values=[[h[b, 0, :8].tolist() for b in range(B)] for h in hidden]),
    grads={n: stat(grads[n]) for n, _ in names},
    grads_full={"classifier.weight": grads["classifier.weight"].tolist(), "classifier.bias": grads["classifier.bias"].tolist(),
                f"distilbert.embeddings.position_embeddings.weight[0:{S}]": grads["distilbert.embeddings.position_embeddings.weight"][:S].tolist()},
    params_with_exactly_zero_grad=[n for n, _ in names if not np.any(grads[n] != 0)],
    word_embedding_rows_with_nonzero_grad=nz_rows(grads["distilbert.embeddings.word_embeddings.weight"]),
    position_embedding_rows_with_nonzero_grad=nz_rows(grads["distilbert.embeddings.position_embeddings.weight"]),
    noise_dominated_after_step=[f"distilbert.transformer.layer.{i}.attention.k_lin.bias" for i in range(L)],
    optimizer=dict(lr=lr, betas=[b1, b2], eps=eps, weight_decay=wd, hf_groups=dict(decay=decay_names)),
    adamw_all_decay=adamw(False), adamw_hf_groups=adamw(True),
    verification=dict(float32_vs_float64_max_abs_logit_diff=float(np.abs(logits32 - logits).max())),
)
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(cfg, f, indent=1, sort_keys=True)
with open(os.path.join(OUT, "inputs.json"), "w") as f:
    json.dump(dict(input_ids=ids.tolist(), attention_mask=mask.tolist(), labels=labels.tolist(), true_lengths=[10, 4, 7], padded_length=S), f)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f)
header, off, blobs = {"__metadata__": {"format": "pt"}}, 0, []
for n in sorted(params):
    b = params[n].astype("<f4").tobytes()
    header[n] = dict(dtype="F32", shape=list(params[n].shape), data_offsets=[off, off + len(b)])
    off += len(b)
    blobs.append(b)
hj = json.dumps(header, separators=(",", ":")).encode()
hj += b" " * ((8 - len(hj) % 8) % 8)
with open(os.path.join(OUT, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
print("wrote", OUT, "loss", loss, "f32-f64 gap", expected["verification"])

"""Reference outputs for rotor's tree tests, produced by XGBoost 1.7 and scikit-learn.

Run with Debian's Python from the repository root:  /usr/bin/python3 tests/trees/make_reference.py
Writes tests/trees/data/: small CSV data sets, XGBoost JSON models, XGBoost predictions, metric
values, and cases.json describing each case. Feature values are rounded to one decimal so every
feature has fewer than 256 distinct values: then XGBoost's quantile cuts are exactly the distinct
values, which is also rotor's rule, and trees trained with the same parameters should be identical.
"""
import json, os
import numpy as np
import xgboost as xgb
from sklearn import metrics

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2026)


def features(n, d, missing=0.05):
    X = np.round(rng.normal(size=(n, d)) * 1.5, 1)
    X[rng.random(X.shape) < missing] = np.nan
    return X


def write_csv(name, y, X, w=None):
    cols = [y, X] if w is None else [y, X, w]
    np.savetxt(os.path.join(out, name), np.column_stack(cols), delimiter=',', fmt='%.6g')


n_train, n_test, d = 600, 200, 6
X = features(n_train + n_test, d)
Z = np.nan_to_num(X)
score = Z[:, 0] - 0.8 * Z[:, 1] * Z[:, 2] + 0.5 * np.abs(Z[:, 3]) + rng.normal(size=len(X)) * 0.7
y_bin = (score > 0.4).astype(float)
y_reg = np.round(score * 2 + 1, 3)
y_cnt = rng.poisson(np.exp(np.clip(score * 0.5, -2, 2))).astype(float)
y_multi = np.digitize(score, [-0.5, 1.0]).astype(float)
w = np.round(rng.uniform(0.2, 2.0, size=len(X)), 2)
tr, te = slice(0, n_train), slice(n_train, None)

datasets = {
    'binary': y_bin, 'regression': y_reg, 'count': y_cnt, 'multiclass': y_multi,
}
for name, y in datasets.items():
    write_csv(f'{name}.train.csv', y[tr], X[tr])
    write_csv(f'{name}.test.csv', y[te], X[te])
write_csv('binary_weighted.train.csv', y_bin[tr], X[tr], w[tr])

base = dict(tree_method='hist', max_bin=256, nthread=1, seed=0)
cases = [
    ('binary_default', 'binary', dict(objective='binary:logistic', max_depth=4, eta=0.3), 10, False),
    ('binary_regularized', 'binary', dict(objective='binary:logistic', max_depth=5, eta=0.2, reg_lambda=2.0,
                                          reg_alpha=0.5, gamma=0.3, min_child_weight=3, max_delta_step=0.7), 12, False),
    ('binary_weighted', 'binary', dict(objective='binary:logistic', max_depth=3, eta=0.3), 8, True),
    ('binary_lossguide', 'binary', dict(objective='binary:logistic', grow_policy='lossguide', max_depth=0,
                                        max_leaves=8, eta=0.3), 8, False),
    ('regression', 'regression', dict(objective='reg:squarederror', max_depth=5, eta=0.3), 10, False),
    ('pseudohuber', 'regression', dict(objective='reg:pseudohubererror', max_depth=3, eta=0.3, huber_slope=2.0), 6, False),
    ('poisson', 'count', dict(objective='count:poisson', max_depth=3, eta=0.2), 8, False),
    ('multiclass', 'multiclass', dict(objective='multi:softprob', num_class=3, max_depth=3, eta=0.3), 6, False),
    ('binary_monotone', 'binary', dict(objective='binary:logistic', max_depth=4, eta=0.3,
                                       monotone_constraints='(1,-1,0,1,0,0)'), 8, False),
    ('regression_monotone', 'regression', dict(objective='reg:squarederror', max_depth=4, eta=0.3, reg_alpha=0.3,
                                               monotone_constraints='(1,0,-1,0,0,0)'), 8, False),
]
manifest = []
for case, data, params, rounds, weighted in cases:
    y = datasets[data]
    dtrain = xgb.DMatrix(X[tr], label=y[tr], weight=w[tr] if weighted else None)
    dtest = xgb.DMatrix(X[te])
    booster = xgb.train({**base, **params}, dtrain, num_boost_round=rounds)
    booster.save_model(os.path.join(out, f'{case}.xgb.json'))
    pred = booster.predict(dtest)
    np.savetxt(os.path.join(out, f'{case}.xgb_pred.txt'), pred.reshape(len(pred), -1), delimiter=',', fmt='%.9g')
    manifest.append(dict(case=case, data=data, weighted=weighted, rounds=rounds, params=params))
with open(os.path.join(out, 'cases.json'), 'w') as f:
    json.dump(manifest, f, indent=1)

# Metrics: scikit-learn's values on fixed scores (with ties and weights).
s = np.round(rng.uniform(size=300), 2)
lab = (rng.uniform(size=300) < s).astype(float)
ww = np.round(rng.uniform(0.5, 2, size=300), 2)
P = rng.dirichlet([1, 1, 1], size=300)
lab3 = rng.integers(0, 3, size=300).astype(float)
ref = dict(scores=s.tolist(), labels=lab.tolist(), weights=ww.tolist(),
           auc=metrics.roc_auc_score(lab, s), auc_weighted=metrics.roc_auc_score(lab, s, sample_weight=ww),
           logloss=metrics.log_loss(lab, s), logloss_weighted=metrics.log_loss(lab, s, sample_weight=ww),
           rmse=float(np.sqrt(metrics.mean_squared_error(lab, s))),
           probs3=P.ravel().tolist(), labels3=lab3.tolist(),
           mlogloss=metrics.log_loss(lab3, P, labels=[0, 1, 2]),
           merror=1 - metrics.accuracy_score(lab3, P.argmax(1)))
with open(os.path.join(out, 'metrics_reference.json'), 'w') as f:
    json.dump(ref, f)
print('wrote', out)

# TreeSHAP contributions (pred_contribs) and feature importances of two XGBoost models, for rotor's
# `boost explain` and `boost importance` on the imported models.
explain = {}
for case in ('binary_default', 'multiclass', 'regression'):
    booster = xgb.Booster()
    booster.load_model(os.path.join(out, f'{case}.xgb.json'))
    contribs = booster.predict(xgb.DMatrix(X[te][:40]), pred_contribs=True)
    explain[case] = dict(contribs=np.asarray(contribs, dtype=np.float64).ravel().tolist(),
                         shape=list(contribs.shape),
                         importance={t: booster.get_score(importance_type=t)
                                     for t in ('weight', 'gain', 'cover', 'total_gain', 'total_cover')})
with open(os.path.join(out, 'explain_reference.json'), 'w') as f:
    json.dump(explain, f)

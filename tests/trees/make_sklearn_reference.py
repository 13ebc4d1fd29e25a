"""scikit-learn references for rotor's CART and forest tests.

Run from the repository root: /usr/bin/python3 tests/trees/make_sklearn_reference.py
Writes tests/trees/data/sk_*.csv (small data, no missing values), the predictions of
DecisionTreeClassifier / DecisionTreeRegressor for several parameter sets, and forest scores
(RandomForest / ExtraTrees test AUC, OOB accuracy, R^2) to sk_cases.json.
"""
import json, os
import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.ensemble import RandomForestClassifier, ExtraTreesClassifier, RandomForestRegressor
from sklearn.metrics import roc_auc_score, r2_score

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(11)
n_train, n_test, d = 400, 150, 5
X = np.round(rng.normal(size=(n_train + n_test, d)), 4).astype(np.float32)
s = X[:, 0] + X[:, 1] * X[:, 2] - 0.5 * X[:, 3] ** 2 + rng.normal(size=len(X)) * 0.4
y_bin = (s > 0).astype(float)
y_3 = np.digitize(s, [-0.7, 0.7]).astype(float)
y_reg = np.round(s * 3, 4)
tr, te = slice(0, n_train), slice(n_train, None)
for name, y in (('bin', y_bin), ('multi', y_3), ('reg', y_reg)):
    for part, sl in (('train', tr), ('test', te)):
        np.savetxt(os.path.join(out, f'sk_{name}.{part}.csv'), np.column_stack([y[sl], X[sl]]), delimiter=',',
                   fmt='%.9g')

tree_cases = [
    ('gini_full', 'bin', dict(criterion='gini')),
    ('entropy_depth4_leaf3', 'bin', dict(criterion='entropy', max_depth=4, min_samples_leaf=3)),
    ('gini_ccp', 'bin', dict(criterion='gini', ccp_alpha=0.01)),
    ('gini_split10_decrease', 'multi', dict(criterion='gini', min_samples_split=10, min_impurity_decrease=0.005)),
    ('multi_entropy_depth5', 'multi', dict(criterion='entropy', max_depth=5)),
    ('reg_depth5', 'reg', dict(criterion='squared_error', max_depth=5)),
    ('reg_ccp', 'reg', dict(criterion='squared_error', ccp_alpha=0.05, min_samples_leaf=2)),
]
cases = []
for case, data, params in tree_cases:
    y = {'bin': y_bin, 'multi': y_3, 'reg': y_reg}[data]
    if data == 'reg':
        m = DecisionTreeRegressor(random_state=0, **params).fit(X[tr], y[tr])
        pred = m.predict(X[te]).reshape(-1, 1)
    else:
        m = DecisionTreeClassifier(random_state=0, **params).fit(X[tr], y[tr])
        pred = m.predict_proba(X[te])
    np.savetxt(os.path.join(out, f'sk_tree_{case}.pred.txt'), pred, delimiter=',', fmt='%.9g')
    cases.append(dict(case=case, data=data, params=params, leaves=int(m.get_n_leaves()), depth=int(m.get_depth())))

forests = {}
rf = RandomForestClassifier(n_estimators=100, oob_score=True, random_state=0).fit(X[tr], y_bin[tr])
forests['rf_bin'] = dict(auc=roc_auc_score(y_bin[te], rf.predict_proba(X[te])[:, 1]), oob=rf.oob_score_,
                         importances=rf.feature_importances_.tolist())
et = ExtraTreesClassifier(n_estimators=100, random_state=0).fit(X[tr], y_bin[tr])
forests['et_bin'] = dict(auc=roc_auc_score(y_bin[te], et.predict_proba(X[te])[:, 1]))
rr = RandomForestRegressor(n_estimators=100, oob_score=True, random_state=0).fit(X[tr], y_reg[tr])
forests['rf_reg'] = dict(r2=r2_score(y_reg[te], rr.predict(X[te])), oob=rr.oob_score_)
with open(os.path.join(out, 'sk_cases.json'), 'w') as f:
    json.dump(dict(trees=cases, forests=forests), f, indent=1)
print('wrote', out)

# AdaBoost: SAMME probabilities and estimator weights (deterministic given the trees), and
# AdaBoost.R2's test R^2 (its weighted bootstrap uses numpy's generator: compared by score).
from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
ada = {}
for case, data, depth, n_est, lr in (('samme_bin_stumps', 'bin', 1, 20, 0.5), ('samme_multi_depth2', 'multi', 2, 15, 1.0)):
    y = {'bin': y_bin, 'multi': y_3}[data]
    m = AdaBoostClassifier(DecisionTreeClassifier(max_depth=depth), n_estimators=n_est, learning_rate=lr,
                           algorithm='SAMME', random_state=0).fit(X[tr], y[tr])
    np.savetxt(os.path.join(out, f'sk_ada_{case}.pred.txt'), m.predict_proba(X[te]), delimiter=',', fmt='%.9g')
    ada[case] = dict(data=data, depth=depth, n_estimators=n_est, learning_rate=lr,
                     weights=m.estimator_weights_[:len(m.estimators_)].tolist())
r2 = AdaBoostRegressor(n_estimators=30, random_state=0).fit(X[tr], y_reg[tr])
ada['r2'] = dict(r2=r2_score(y_reg[te], r2.predict(X[te])))
with open(os.path.join(out, 'sk_ada.json'), 'w') as f:
    json.dump(ada, f, indent=1)

# Friedman gradient boosting (no subsampling: deterministic): predictions on the test rows.
from sklearn.ensemble import GradientBoostingRegressor, GradientBoostingClassifier
gbr = GradientBoostingRegressor(n_estimators=30, learning_rate=0.1, max_depth=3, random_state=0).fit(X[tr], y_reg[tr])
np.savetxt(os.path.join(out, 'sk_gbm_reg.pred.txt'), gbr.predict(X[te]), fmt='%.9g')
gbc = GradientBoostingClassifier(n_estimators=30, learning_rate=0.2, max_depth=2, random_state=0).fit(X[tr], y_bin[tr])
np.savetxt(os.path.join(out, 'sk_gbm_bin.pred.txt'), gbc.predict_proba(X[te])[:, 1], fmt='%.9g')

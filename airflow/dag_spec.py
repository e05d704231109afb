"""Reads an Airflow DAG file WITHOUT importing Airflow (python3 ast only) and prints, as JSON, what its
SparkSubmitOperator tasks would submit: conf (module-level dict literals and {**a, **b} merges resolved),
java_class, application_args, name, plus default_args and the >> dependency chain.
Used by jobs/src/test/java/io/sparsetrain/jobs/train/AirflowDagTest.java.  Usage: python3 dag_spec.py DAG.py
"""
import ast
import json
import sys


def main(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                consts[node.targets[0].id] = value(node.value, consts, allow_unknown=True)
            except ValueError:
                pass

    tasks = {}
    deps = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and callee(node.value) == "SparkSubmitOperator":
            kw = {k.arg: value(k.value, consts, allow_unknown=True) for k in node.value.keywords}
            tasks[kw["task_id"]] = kw
            tasks[kw["task_id"]]["_var"] = node.targets[0].id
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.RShift):
            deps.append(chain(node.value))
    var_to_task = {t["_var"]: tid for tid, t in tasks.items()}
    print(json.dumps({
        "tasks": tasks,
        "dependencies": [[var_to_task.get(v, v) for v in d] for d in deps],
        "default_args": consts.get("DEFAULT_ARGS"),
    }, default=str, indent=1))


def callee(call):
    f = call.func
    return f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)


def chain(binop):
    left = chain(binop.left) if isinstance(binop.left, ast.BinOp) else [binop.left.id]
    return left + [binop.right.id]


def value(node, consts, allow_unknown=False):
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:  # {**other}
                out.update(value(v, consts, allow_unknown))
            else:
                out[value(k, consts, allow_unknown)] = value(v, consts, allow_unknown)
        return out
    if isinstance(node, ast.List):
        return [value(e, consts, allow_unknown) for e in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        if allow_unknown:
            return ast.dump(node)
        raise


if __name__ == "__main__":
    main(sys.argv[1])

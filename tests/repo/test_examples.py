"""examples/: the IAM templates grant exactly what the agent calls, the
Dockerfile copies the portable tarball's agent (make dist), and the Kubernetes YAML
is what EKS reads; then the agent, given the environment EKS injects
(IRSA's web identity token file, Pod Identity's container credentials
URI) and the deployment's variables, reaches the central group through
the emulator."""
import json
import os
import re
import shutil
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples")
# What the agent calls (core/upload/codeguru.c, sts/): nothing more is granted.
AGENT_ACTIONS = {"codeguru-profiler:ConfigureAgent", "codeguru-profiler:PostAgentProfile"}

try:
    import yaml
except ImportError:  # python3-yaml
    yaml = None


def load_json(rel):
    with open(os.path.join(EX, rel)) as f:
        return json.load(f)


def statements(policy):
    s = policy["Statement"]
    return s if isinstance(s, list) else [s]


def actions(stmt):
    a = stmt["Action"]
    return {a} if isinstance(a, str) else set(a)


def principal_arn_values(cond):
    """What an aws:PrincipalArn condition of a statement allows, under any
    operator that matches ARNs exactly or by pattern; None without one."""
    for op in ("ArnEquals", "ArnLike", "StringEquals", "StringLike"):
        v = (cond or {}).get(op, {}).get("aws:PrincipalArn")
        if v is not None:
            return v
    return None


class IamTemplates(unittest.TestCase):
    def test_central_role_trusts_only_the_agent_roles_with_an_external_id(self):
        # Issue 28, item 9: trusting whole accounts let any principal there
        # with sts:AssumeRole on * (admins, CI roles) post to the central
        # group; the ExternalId does not stop them, it is in the pods'
        # environment.  The trust must name the agents' roles.
        t = load_json("iam/central-account.json")
        role = t["Resources"]["CrossAccountRole"]
        self.assertEqual(role["Type"], "AWS::IAM::Role")
        self.assertLessEqual(role["Properties"]["MaxSessionDuration"], 43200)
        self.assertGreaterEqual(role["Properties"]["MaxSessionDuration"], 3600)
        (trust,) = statements(role["Properties"]["AssumeRolePolicyDocument"])
        self.assertEqual(trust["Effect"], "Allow")
        self.assertEqual(actions(trust), {"sts:AssumeRole"})
        self.assertEqual(set(trust["Principal"]), {"AWS"})
        principal = trust["Principal"]["AWS"]
        self.assertNotEqual(principal, "*")
        self.assertEqual(trust["Condition"]["StringEquals"]["sts:ExternalId"],
                         {"Ref": "ExternalId"})
        # The principal is the accounts (a bare account root) only when
        # aws:PrincipalArn narrows it to the agent roles' ARNs.
        if principal == {"Ref": "AppAccountIds"}:
            self.assertEqual(principal_arn_values(trust["Condition"]), {"Ref": "AgentRoleArns"},
                             "a whole account is trusted")
        else:
            self.assertEqual(principal, {"Ref": "AgentRoleArns"})
        # ... and the parameter takes role ARNs only: no root, no account
        # id, no wildcard.
        pattern = re.compile(t["Parameters"]["AgentRoleArns"]["AllowedPattern"])
        self.assertEqual(t["Parameters"]["AgentRoleArns"]["Type"], "CommaDelimitedList")
        for ok in ("arn:aws:iam::111111111111:role/orders-task",
                   "arn:aws:iam::111111111111:role/service-role/orders-fn-role",
                   "arn:aws-cn:iam::111111111111:role/orders-task"):
            self.assertTrue(pattern.fullmatch(ok), ok)
        for bad in ("arn:aws:iam::111111111111:root", "111111111111", "*",
                    "arn:aws:iam::111111111111:role/*", "arn:aws:iam::*:role/orders-task",
                    "arn:aws:iam::111111111111:user/ci", "arn:aws:iam::111111111111:role/",
                    "arn:aws:iam::111111111111:role/service-role/",
                    "arn:aws:sts::111111111111:assumed-role/orders-task/s"):
            self.assertFalse(pattern.fullmatch(bad), bad)

    def test_central_policy_is_least_privilege_on_the_named_group(self):
        t = load_json("iam/central-account.json")
        (pol,) = t["Resources"]["CrossAccountRole"]["Properties"]["Policies"]
        granted = set()
        for st in statements(pol["PolicyDocument"]):
            self.assertEqual(st["Effect"], "Allow")
            granted |= actions(st)
            res = st["Resource"]["Fn::Sub"]
            self.assertTrue(res.endswith(":profilingGroup/${GroupName}"), res)
            self.assertNotIn("*", res)
        self.assertEqual(granted, AGENT_ACTIONS)
        group = t["Resources"]["ProfilingGroup"]
        self.assertEqual(group["Properties"]["ProfilingGroupName"], {"Ref": "GroupName"})
        self.assertEqual(group["Properties"]["AgentPermissions"]["Principals"],
                         [{"Fn::GetAtt": ["CrossAccountRole", "Arn"]}])
        for p in ("AppAccountIds", "AgentRoleArns", "GroupName", "ExternalId"):
            self.assertIn(p, t["Parameters"])

    def test_app_account_may_assume_only_the_central_role(self):
        t = load_json("iam/app-account.json")
        (res,) = t["Resources"].values()
        (st,) = statements(res["Properties"]["PolicyDocument"])
        self.assertEqual(actions(st), {"sts:AssumeRole"})
        self.assertEqual(st["Resource"]["Fn::Sub"],
                         "arn:${AWS::Partition}:iam::${CentralAccountId}:role/${CentralRoleName}")
        self.assertIn("ExternalId", t["Parameters"])


class Dockerfile(unittest.TestCase):
    def test_two_lines_copy_the_portable_tarballs_agent_and_nothing_else(self):
        with open(os.path.join(EX, "docker", "Dockerfile")) as f:
            lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        after_from = lines[[i for i, l in enumerate(lines) if l.startswith("FROM")][0] + 1:]
        self.assertEqual(len(after_from), 2, after_from)
        copy, env = after_from
        self.assertTrue(copy.startswith("COPY "), copy)
        self.assertEqual(env, "ENV LD_PRELOAD=/opt/cgagent/libcgagent.so")
        # The tarball's three files (dist/package.py lays them out), no
        # library copied from a build machine: the shim loads the agent
        # from its own directory, and both need only glibc.
        sources = copy.split()[1:-1]
        self.assertEqual(sorted(sources), ["cgagent/bin/cgagent", "cgagent/lib/libcgagent-impl.so",
                                           "cgagent/lib/libcgagent.so"])
        with open(os.path.join(ROOT, "dist", "package.py")) as f:
            package = f.read()
        for src in sources:
            self.assertIn('os.path.join(%s, "%s")' % (
                "lib" if "/lib/" in src else "bindir", os.path.basename(src)), package, src)


@unittest.skipUnless(yaml, "python3-yaml is not installed")
class Kubernetes(unittest.TestCase):
    def load(self, name):
        with open(os.path.join(EX, "kubernetes", name)) as f:
            return list(yaml.safe_load_all(f))

    def test_irsa_service_account_is_annotated(self):
        (sa,) = self.load("serviceaccount-irsa.yaml")
        self.assertEqual((sa["apiVersion"], sa["kind"]), ("v1", "ServiceAccount"))
        self.assertRegex(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
                         r"^arn:aws:iam::\d{12}:role/[\w+=,.@-]+$")

    def test_pod_identity_service_account_has_no_annotation(self):
        (sa,) = self.load("serviceaccount-pod-identity.yaml")
        self.assertEqual(sa["kind"], "ServiceAccount")
        self.assertNotIn("annotations", sa["metadata"])

    def test_deployment_preloads_the_agent_from_the_init_container(self):
        (d,) = self.load("deployment.yaml")
        self.assertEqual((d["apiVersion"], d["kind"]), ("apps/v1", "Deployment"))
        spec = d["spec"]["template"]["spec"]
        self.assertEqual(d["spec"]["selector"]["matchLabels"],
                         d["spec"]["template"]["metadata"]["labels"])
        (init,) = spec["initContainers"]
        (app,) = spec["containers"]
        vol = spec["volumes"][0]["name"]
        mount = {m["name"]: m["mountPath"] for m in app["volumeMounts"]}[vol]
        env = {e["name"]: e["value"] for e in app["env"]}
        self.assertEqual(env["LD_PRELOAD"], mount + "/libcgagent.so")
        self.assertIn("/opt/cgagent/libcgagent.so", init["command"])
        # The shim loads the agent from its own directory.
        self.assertIn("/opt/cgagent/libcgagent-impl.so", init["command"])
        self.assertEqual({m["name"] for m in init["volumeMounts"]}, {vol})
        self.assertIn("AWS_CODEGURU_PROFILER_GROUP_ARN", env)
        self.assertIn("CGAGENT_ROLE_ARN", env)


def deployment_env():
    with open(os.path.join(EX, "kubernetes", "deployment.yaml")) as f:
        (d,) = list(yaml.safe_load_all(f))
    return {e["name"]: e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}


@unittest.skipUnless(yaml, "python3-yaml is not installed")
class EksEnvironmentAgainstTheEmulator(unittest.TestCase):
    """The deployment's variables plus what EKS injects, with the group ARN,
    role and ExternalId swapped for the emulator's world."""

    def setUp(self):
        sys.path.insert(0, os.path.join(ROOT, "tests"))
        from emulator import CENTRAL_ACCOUNT, Emulator
        from integration.helpers import CLI, check
        if not os.access(CLI, os.X_OK):
            self.skipTest("no build")
        self.check = check
        self.emu = Emulator().start()
        self.addCleanup(self.emu.stop)
        self.emu.add_role(CENTRAL_ACCOUNT, "CodeGuruCrossAccountRole", trust=["111111111111"],
                          external_id="orders-prod")
        self.emu.add_group("orders", allowed_principals=[
            "arn:aws:iam::%s:role/CodeGuruCrossAccountRole" % CENTRAL_ACCOUNT])
        d = deployment_env()
        self.app = {k: v for k, v in d.items() if k != "LD_PRELOAD"}
        self.assertEqual(self.app["AWS_CODEGURU_PROFILER_GROUP_ARN"].split(":")[3],
                         self.emu.region)

    def run_check(self, credentials, **kw):
        env = self.emu.env_for(credentials, role_arn=None, group=None, **kw)
        env.pop("AWS_REGION", None)  # the group ARN gives it, as in the deployment
        env.update(self.app)
        res = self.check(env)
        self.assertEqual(res.status, 0, res)
        self.assertTrue(res.fields["assumed role"].startswith(
            "arn:aws:sts::222222222222:assumed-role/CodeGuruCrossAccountRole/"), res)
        self.assertIn("shouldProfile=true", res.fields["configure agent"])
        return res

    def test_irsa(self):
        res = self.run_check("web_identity")
        self.assertIn("web identity", res.fields["credentials from"])

    def test_pod_identity(self):
        res = self.run_check("container", token_file=True)
        self.assertIn("container", res.fields["credentials from"])


if __name__ == "__main__":
    unittest.main()

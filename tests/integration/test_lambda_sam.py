"""deploy/sam/template.yaml (issue 12, "Infrastructure as code"): parsed with
python3-yaml (CloudFormation's short tags kept as {"Fn": value}) and checked
for the invariants the design relies on."""

import os
import re
import unittest

import yaml

SOURCE_DIR = os.environ.get("SLASHD_SOURCE_DIR", ".")
TEMPLATE = os.path.join(SOURCE_DIR, "deploy", "sam", "template.yaml")


class Tag(dict):
    """!Ref X -> Tag(Ref=X); !GetAtt A.B -> Tag(**{"Fn::GetAtt": ["A", "B"]})."""


def _construct(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return Tag(Ref=value)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return Tag({"Fn::" + suffix: value})


class CfnLoader(yaml.SafeLoader):
    pass


CfnLoader.add_multi_constructor("!", _construct)


def load():
    with open(TEMPLATE) as f:
        return yaml.load(f, Loader=CfnLoader)


def statements(role):
    out = []
    for pol in role["Properties"].get("Policies", []):
        for st in pol["PolicyDocument"]["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out.append((st["Effect"], acts, res))
    return out


class Template(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = load()
        cls.r = cls.t["Resources"]

    def of_type(self, kind):
        return {k: v for k, v in self.r.items() if v["Type"] == kind}

    def fn(self, handler):
        fns = [(k, v) for k, v in self.of_type("AWS::Serverless::Function").items()
               if v["Properties"]["Handler"] == handler]
        self.assertEqual(len(fns), 1, handler)
        return fns[0]

    def test_both_functions_run_the_zip_on_al2023(self):
        g = self.t["Globals"]["Function"]
        self.assertEqual(g["Runtime"], "provided.al2023")
        self.assertEqual(g["Architectures"], ["x86_64"])
        self.assertEqual(len(self.of_type("AWS::Serverless::Function")), 2)

    def test_front_has_a_public_function_url_and_both_permissions(self):
        name, front = self.fn("front")
        self.assertEqual(front["Properties"]["FunctionUrlConfig"]["AuthType"], "NONE")
        perms = {p["Properties"]["Action"]: p["Properties"]
                 for p in self.of_type("AWS::Lambda::Permission").values()
                 if p["Properties"]["FunctionName"] == Tag(Ref=name)}
        self.assertEqual(set(perms), {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"})
        self.assertEqual(perms["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"], "NONE")
        self.assertTrue(perms["lambda:InvokeFunction"]["InvokedViaFunctionUrl"])
        for p in perms.values():
            self.assertEqual(p["Principal"], "*")
        out = self.t["Outputs"]["SlackRequestUrl"]["Value"]
        self.assertEqual(out, Tag({"Fn::GetAtt": [name + "Url", "FunctionUrl"]}))

    def test_queue_has_a_dead_letter_queue_and_six_times_the_worker_timeout(self):
        queues = self.of_type("AWS::SQS::Queue")
        _, worker = self.fn("worker")
        events = list(worker["Properties"]["Events"].values())
        self.assertEqual(len(events), 1)
        ev = events[0]
        self.assertEqual(ev["Type"], "SQS")
        qname = ev["Properties"]["Queue"]["Fn::GetAtt"][0]
        q = queues[qname]["Properties"]
        dlq = q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        self.assertIn(dlq, queues)
        self.assertNotEqual(dlq, qname)
        self.assertGreaterEqual(int(q["RedrivePolicy"]["maxReceiveCount"]), 1)
        timeout = int(worker["Properties"]["Timeout"])
        self.assertGreaterEqual(int(q["VisibilityTimeout"]), 6 * timeout)
        # Jobs older than max_job_age (1500 s by default) are not run: keeping
        # them longer than Slack's 30 minutes is pointless.
        self.assertLessEqual(int(q["MessageRetentionPeriod"]), 1800)

    def test_worker_event_is_one_record_with_partial_failures_and_reserved_concurrency(self):
        _, worker = self.fn("worker")
        ev = list(worker["Properties"]["Events"].values())[0]["Properties"]
        self.assertEqual(ev["BatchSize"], 1)
        self.assertEqual(ev["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertIn("ReservedConcurrentExecutions", worker["Properties"])

    def test_front_role_sends_to_its_queue_and_decrypts_the_secret_only(self):
        _, front = self.fn("front")
        role = self.r[front["Properties"]["Role"]["Fn::GetAtt"][0]]
        st = statements(role)
        qname = self.fn("worker")[1]["Properties"]["Events"]["Jobs"]["Properties"]["Queue"]["Fn::GetAtt"][0]
        self.assertEqual(sorted((tuple(a), tuple(map(repr, r))) for _, a, r in st),
                         sorted([(("kms:Decrypt",), (repr(Tag(Ref="SecretKeyArn")),)),
                                 (("sqs:SendMessage",), (repr(Tag({"Fn::GetAtt": [qname, "Arn"]})),))]))
        self.assertTrue(all(e == "Allow" for e, _, _ in st))
        self.assertEqual(role["Properties"]["ManagedPolicyArns"],
                         ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
        env = front["Properties"]["Environment"]["Variables"]
        self.assertEqual(env["SLASHD_LAMBDA_QUEUE_URL"], Tag(Ref=qname))
        self.assertTrue(env["SLASHD_LAMBDA_SIGNING_SECRET"]["Fn::Sub"].startswith("kms:"))

    def test_worker_role_is_sts_on_user_roles_and_host_reads(self):
        _, worker = self.fn("worker")
        role = self.r[worker["Properties"]["Role"]["Fn::GetAtt"][0]]
        reads = {"ec2:DescribeInstances", "ec2:GetConsoleOutput", "s3:ListAllMyBuckets",
                 "s3:GetBucketLocation", "cloudwatch:GetMetricStatistics"}
        sts = {"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}
        queue = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
        kms = {"kms:Decrypt"}
        for effect, acts, res in statements(role):
            self.assertEqual(effect, "Allow")
            acts = set(acts)
            for a in acts:
                self.assertNotIn("*", a, "wildcard action %s" % a)
            if acts & sts:
                self.assertEqual(acts, sts)
                self.assertEqual(res, [Tag(Ref="UserRoleArnPattern")])
            elif acts & kms:
                # The confirmation key comes from the signing secret: decrypt, on that key only.
                self.assertEqual((acts, res), (kms, [Tag(Ref="SecretKeyArn")]))
            elif acts & queue:
                self.assertEqual(acts, queue)
                self.assertEqual(len(res), 1)
                self.assertIn("Fn::GetAtt", res[0])
            else:
                self.assertTrue(acts <= reads, acts - reads)
        pattern = self.t["Parameters"]["UserRoleArnPattern"]["Default"]
        self.assertTrue(re.fullmatch(r"arn:aws:iam::[*0-9]+:role/\S+", pattern), pattern)

    def test_the_secret_is_a_parameter_never_a_literal(self):
        p = self.t["Parameters"]
        self.assertTrue(p["SigningSecretCiphertext"]["NoEcho"])
        self.assertIn("SecretKeyArn", p)
        with open(TEMPLATE) as f:
            text = f.read()
        self.assertNotRegex(text, r"(?i)signing_secret\s*[:=]\s*['\"]?[0-9a-f]{32}")


if __name__ == "__main__":
    unittest.main(verbosity=2)

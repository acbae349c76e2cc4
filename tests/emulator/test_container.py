"""Container credentials: the Authorization token check, the ECS and EKS
response shapes, and the task metadata document."""
import json
import unittest

from emulator import CONTAINER_AUTH_TOKEN, TASK_ROLE_ARN, Credentials, client
from emulator.testcase import EmulatorTestCase


class ContainerCredentials(EmulatorTestCase):
    def get(self, token=None, path=None, method="GET"):
        url = self.emu.container_credentials_url if path is None else \
            self.emu.container_url + path
        headers = [("Accept", "application/json")]
        if token is not None:
            headers.append(("Authorization", token))
        return client.request(url, method, headers)

    def test_token_is_required_and_must_match(self):
        self.assertEqual(self.get().status, 401)
        self.assertEqual(self.get("wrong-token").status, 403)
        res = self.get(CONTAINER_AUTH_TOKEN)
        self.assertEqual(res.status, 200, res.body)
        doc = res.json()
        self.assertEqual(set(doc), {"AccessKeyId", "SecretAccessKey", "Token",
                                    "Expiration", "RoleArn"})
        self.assertEqual(doc["RoleArn"], TASK_ROLE_ARN)
        creds = Credentials(doc["AccessKeyId"], doc["SecretAccessKey"], doc["Token"])
        who = self.sts(creds, "GetCallerIdentity")
        self.assertEqual(who.status, 200, who.body)
        self.assertIn(":assumed-role/cgagent-task/", who.xml("Arn"))
        self.assertEqual([r.status for r in self.emu.requests("container")],
                         [401, 403, 200])

    def test_eks_pod_identity_shape_and_no_token(self):
        self.emu.configure_container(style="eks", auth_token=None)
        doc = self.get().json()
        self.assertEqual(doc["AccountId"], "111111111111")
        self.assertNotIn("RoleArn", doc)

    def test_rotated_token_file_style(self):
        self.emu.configure_container(auth_token="rotated-token-2")
        self.assertEqual(self.get(CONTAINER_AUTH_TOKEN).status, 403)
        self.assertEqual(self.get("rotated-token-2").status, 200)

    def test_other_paths_and_methods(self):
        self.assertEqual(self.get(CONTAINER_AUTH_TOKEN, "/v2/credentials/other").status, 404)
        self.assertEqual(self.get(CONTAINER_AUTH_TOKEN, method="POST").status, 405)

    def test_task_metadata(self):
        env = self.emu.env_for("container", ecs_metadata=True)
        res = client.request(env["ECS_CONTAINER_METADATA_URI_V4"] + "/task")
        self.assertEqual(res.status, 200)
        self.assertTrue(json.loads(res.body)["TaskARN"].startswith(
            "arn:aws:ecs:us-east-1:111111111111:task/"))


if __name__ == "__main__":
    unittest.main()

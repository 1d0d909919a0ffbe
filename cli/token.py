"""`python -m cli token --user <e-mail>`: signs a sales API user in with the user-pool API (InitiateAuth,
USER_PASSWORD_AUTH, on the stack's public app client) and prints a token for `Authorization: Bearer`.

The access token by default (what API Gateway's JWT authorizer is meant for); --id prints the ID token,
which also names the user's e-mail. Both carry the user's groups (cognito:groups). The password is asked
for unless --password-stdin reads it from standard input (never an option: it would stay in the shell's
history). Tokens are valid for an hour.
"""

import argparse
import getpass
import json
import sys
from typing import Any

import boto3

from cli import target as targets

POOL_CLIENT = ("SalesUserPool", "SalesAppClient")  # the template's logical ids


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    token = commands.add_parser("token", help="sign in a sales API user and print a token")
    token.add_argument("--user", required=True, help="the user's e-mail address")
    token.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    token.add_argument("--id", action="store_true", help="print the ID token instead of the access token")
    token.add_argument("--json", action="store_true", help="print every token and their lifetime as JSON")


def _local_client_id(cognito: Any) -> str:
    """The local stack's app client: found by the names the template gives the pool and the client."""
    from local.environment import REGION
    from local.runner import STACK
    from local.template import load_stack

    stack = load_stack(STACK, REGION, {"StageName": "local"}, {})
    pool_id, client_id = POOL_CLIENT
    pool_name = stack.resolve(stack.resources[pool_id]["Properties"]["UserPoolName"])
    client_name = stack.resolve(stack.resources[client_id]["Properties"]["ClientName"])
    pools = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == pool_name]
    if not pools:
        raise targets.TargetError(f"the local AWS has no user pool {pool_name}: is `make run` running?")
    clients = cognito.list_user_pool_clients(UserPoolId=pools[0]["Id"], MaxResults=60)["UserPoolClients"]
    return next(str(c["ClientId"]) for c in clients if c["ClientName"] == client_name)


def run(args: argparse.Namespace, target: targets.Target) -> int:
    cognito = boto3.client("cognito-idp", region_name=target.region, endpoint_url=target.endpoint)
    client_id = target.sales_app_client or _local_client_id(cognito)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.user}: ")
    answer = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": args.user, "PASSWORD": password},
    )
    tokens = answer.get("AuthenticationResult")
    if not tokens:  # a challenge: a new user must set a password first (NEW_PASSWORD_REQUIRED), or MFA
        print(
            f"error: sign-in needs {answer.get('ChallengeName')}: finish it in the web app (or with "
            "aws cognito-idp respond-to-auth-challenge), then ask for a token again",
            file=sys.stderr,
        )
        return 1
    if args.json:
        keep = ("AccessToken", "IdToken", "ExpiresIn", "TokenType")
        print(json.dumps({k: tokens[k] for k in keep if k in tokens}, indent=2))
    else:
        print(tokens["IdToken"] if args.id else tokens["AccessToken"])
    return 0

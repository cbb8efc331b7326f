"""The chain side of kwx: networks, an embedded Anvil, accounts, artifacts, a signing client with a nonce
manager and decoded reverts, and the deployment of the contract suite. See docs/chain-client.md."""

from offchain.chain.accounts import (
    ANVIL_TEST_MNEMONIC,
    account_from_env,
    account_from_keystore,
    account_from_mnemonic,
    accounts_from_mnemonic,
    remote_account,
)
from offchain.chain.anvil import EmbeddedAnvil, find_anvil, free_port, port_open, stop_all
from offchain.chain.artifacts import Artifact, ErrorDecoder, default_build_dir, load_artifact, project_root
from offchain.chain.client import ChainClient
from offchain.chain.deploy import (
    DeploymentPlan,
    Manifest,
    deploy_suite,
    find_reusable_manifest,
    load_manifest,
    manifest_path,
    plan_deployment,
)
from offchain.chain.errors import (
    AnvilStartError,
    ArtifactsMissingError,
    ChainIdMismatchError,
    ContractRevertError,
    InvalidCredentialsError,
    KwxChainError,
    ManifestMissingError,
    MissingCredentialsError,
    NonceConflictError,
    RpcUnreachableError,
    TransactionRejectedError,
    TransactionTimeoutError,
    UnknownNetworkError,
)
from offchain.chain.networks import FIRST_PARTICIPANT_INDEX, LOCAL_ROLE_ACCOUNTS, NETWORK_NAMES, NetworkConfig, get_network
from offchain.chain.nonces import NonceManager
from offchain.chain.roles import ROLE_NAMES, role_id, role_name
from offchain.chain.rpc import connect
from offchain.chain.abi import MAX_UINT256, ZERO_ADDRESS, ParticipantKind
from offchain.chain.steps import DEPLOYER, Call, ContractRef, Deploy, Grant, RoleHolder, Step, replace_group

__all__ = [
    "ANVIL_TEST_MNEMONIC",
    "DEPLOYER",
    "FIRST_PARTICIPANT_INDEX",
    "LOCAL_ROLE_ACCOUNTS",
    "MAX_UINT256",
    "NETWORK_NAMES",
    "ROLE_NAMES",
    "ZERO_ADDRESS",
    "AnvilStartError",
    "Artifact",
    "ArtifactsMissingError",
    "Call",
    "ChainClient",
    "ChainIdMismatchError",
    "ContractRef",
    "ContractRevertError",
    "Deploy",
    "DeploymentPlan",
    "EmbeddedAnvil",
    "ErrorDecoder",
    "Grant",
    "InvalidCredentialsError",
    "KwxChainError",
    "Manifest",
    "ManifestMissingError",
    "MissingCredentialsError",
    "NetworkConfig",
    "NonceConflictError",
    "NonceManager",
    "ParticipantKind",
    "RoleHolder",
    "RpcUnreachableError",
    "Step",
    "TransactionRejectedError",
    "TransactionTimeoutError",
    "UnknownNetworkError",
    "account_from_env",
    "account_from_keystore",
    "account_from_mnemonic",
    "accounts_from_mnemonic",
    "connect",
    "default_build_dir",
    "deploy_suite",
    "find_anvil",
    "find_reusable_manifest",
    "free_port",
    "get_network",
    "load_artifact",
    "load_manifest",
    "manifest_path",
    "plan_deployment",
    "port_open",
    "project_root",
    "remote_account",
    "replace_group",
    "role_id",
    "role_name",
    "stop_all",
]

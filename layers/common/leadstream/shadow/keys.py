"""Where shadow mode keeps a person's candidate score in the leads table (pure).

SHADOW#<NN> / LEAD#<lead id>#v<candidate version>   one person's score under one candidate model

NN is the lead's archive hash (`archive.records.lead_hash`, 16 buckets): the shadow report reads 16 known
partitions (one Query each, never a Scan), and writes spread over them. No sort key starts with a prefix any
stream subscription of the leads table listens for (EVT#, TRANS#, OUT#, MERGE#, HELD#, STATE, PROFILE), so a
shadow write wakes no function. A person's items are found from their lead ids alone (`people export`,
`people erase`): the partition from the hash, the items by the sort key's prefix.
"""

from leadstream.archive.records import LEAD_HASHES, lead_hash

SHADOW_PREFIX = "SHADOW#"
PARTITIONS = tuple(f"{SHADOW_PREFIX}{n:02d}" for n in range(LEAD_HASHES))


def shadow_pk(lead_id: str) -> str:
    return f"{SHADOW_PREFIX}{lead_hash(lead_id):02d}"


def lead_prefix(lead_id: str) -> str:
    """The sort keys of a lead's shadow items, of every candidate version."""
    return f"LEAD#{lead_id}#v"


def shadow_sk(lead_id: str, version: int) -> str:
    return f"{lead_prefix(lead_id)}{version}"

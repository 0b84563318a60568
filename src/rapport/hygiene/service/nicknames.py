"""Given names that one person goes by: Bob is Robert, Liz is Elizabeth, Hans is Johannes.

Each group holds a formal name and its usual short forms (English, German, French). Groups
sharing a name (Sam: Samuel and Samantha; Alex; Chris) are joined, so :func:`nickname_class`
gives one class per name: two names in one class may be the same person's.
"""

from __future__ import annotations

from functools import cache

GROUPS = (
    "robert bob bobby rob robbie bert", "william bill billy will willy liam",
    "elizabeth liz lizzie beth betty bess eliza elisabeth lisa libby",
    "richard rick ricky dick rich",
    "james jim jimmy jamie", "john johnny jack jon", "michael mike mick mickey mikey",
    "thomas tom tommy", "christopher chris kit", "christian chris", "christine chris chrissy",
    "christina chris tina", "daniel dan danny", "joseph joe joey", "charles charlie chuck chas",
    "david dave davy", "matthew matt matty", "anthony tony", "andrew andy drew",
    "steven steve stevie", "stephen steve stevie", "edward ed eddie ted ned",
    "margaret maggie peggy meg madge greta", "katherine kate kathy katie kat",
    "catherine cathy kate cath", "kathleen kathy kate", "jennifer jen jenny jenn",
    "patricia pat patty trish", "patrick paddy", "susan sue susie suzy",
    "rebecca becky becca", "samantha sam sammy", "samuel sam sammy", "alexander alex sandy",
    "alexandra alex sandra lexi", "nicholas nick nicky", "jessica jess jessie",
    "deborah debbie deb debra", "benjamin ben benny", "victoria vicky tori", "kimberly kim",
    "timothy tim timmy", "kenneth ken kenny", "ronald ron ronnie", "donald don donnie",
    "gregory greg", "jonathan jon jonny", "joshua josh", "jacqueline jackie jacqui",
    "pamela pam", "cynthia cindy", "barbara barb barbie", "albert bert", "alfred alf fred",
    "frederick fred freddie", "abigail abby abbie", "amanda mandy", "dorothy dot dottie",
    "gerald gerry jerry", "harold harry hal", "henry harry hank", "lawrence larry",
    "leonard leo len lenny", "louis lou", "raymond ray", "philip phil", "peter pete",
    "nathaniel nate", "nathan nate", "zachary zach zack", "theodore ted teddy theo",
    "vincent vince vinny", "walter walt wally", "francis frank", "franklin frank",
    "eugene gene", "douglas doug", "eleanor ellie nora", "helen nell", "judith judy",
    "madeline maddie", "melissa mel missy", "natalie nat", "olivia liv livvy",
    "sophia sophie", "valerie val", "veronica vero", "virginia ginny", "frances fran",
    "johannes hans", "josef sepp joseph", "friedrich fritz", "wolfgang wolf",
    "franziska franzi", "gottfried friedel", "matthias matze", "maximilian max",
    "alexandre alex", "frederic fred", "dominique dom", "nathalie nath", "jean-pierre jp",
    "jean-baptiste jb", "guillaume will", "michel mich", "dorothea dora", "magdalena lena",
    "helene lene", "susanne susi", "gabriele gabi", "andreas andi", "stefan steffen",
)  # fmt: skip


@cache
def _classes() -> dict[str, int]:
    """Each name's class: groups that share a name are joined (a small union-find)."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for group in GROUPS:
        first, *rest = group.split()
        for name in rest:
            parent[root(name)] = root(first)
    roots: dict[str, int] = {}
    return {name: roots.setdefault(root(name), len(roots)) for name in list(parent)}


def nickname_class(name: str) -> int:
    """The class of a cleaned given name (lower case, ASCII), or -1 if it has no nickname."""
    return _classes().get(name.replace(" ", "-"), _classes().get(name, -1))


def same_person_names(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are forms of one given name (Bob and Robert)."""
    ca = nickname_class(a)
    return ca >= 0 and ca == nickname_class(b)

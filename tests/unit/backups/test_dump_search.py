"""rex.backups.dump_search: the order in which dumps are searched for a lost project."""

from rex.backups.dump_search import newest_first


def test_newest_first_by_stamp_not_by_order_or_mtime():
    dumps = ["/l/F_20260102T000000Z.backup", "/x/odd.backup", "/l/F_20260103T000000Z.backup",
             "/l/F_20260101T000000Z.backup", "/l/F_20260102T000000Z.backup"]
    assert newest_first(dumps) == ["/l/F_20260103T000000Z.backup", "/l/F_20260102T000000Z.backup",
                                   "/l/F_20260101T000000Z.backup", "/x/odd.backup"]

"""The remote: rclone argv and answers, the upload plan and uploader, its ledger, remote pruning."""

"""The desktop: whether the user is idle, and notifications."""

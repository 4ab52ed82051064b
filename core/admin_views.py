"""Admin building blocks every app's admin shares."""


class ReadOnlyAdmin:
    """A model admin mixin for records written only by the system (histories, ledgers,
    audit rows): viewable by whoever may view the model, never added, changed or deleted
    from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""The database triggers that keep OrderSync in step with its order (see orders.models.OrderSync).

Installed by migration 0003. On SQLite an AlterField copies the table: a later migration that
rebuilds `orders_order` or `orders_ordersync` there must `uninstall` before and `install`
after (SQLite drops the triggers with the first and refuses the second while they exist).
The clock never moves backwards: a change stamped earlier than the clock (a transaction that
began before a re-promise and committed after it) leaves it where it is.
"""

ORDERS, SYNC = "orders_order", "orders_ordersync"

POSTGRESQL = (
    f"""CREATE OR REPLACE FUNCTION orders_sync_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO {SYNC} (order_id, channel_id, updated_at)
            VALUES (NEW.id, NEW.channel_id, NEW.updated_at);
        ELSE
            UPDATE {SYNC} SET updated_at = GREATEST(updated_at, NEW.updated_at),
                channel_id = NEW.channel_id
            WHERE order_id = NEW.id;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER orders_sync_insert AFTER INSERT ON {ORDERS}
    FOR EACH ROW EXECUTE FUNCTION orders_sync_copy()""",
    f"""CREATE TRIGGER orders_sync_update AFTER UPDATE OF updated_at, channel_id ON {ORDERS}
    FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM OLD.updated_at
                       OR NEW.channel_id IS DISTINCT FROM OLD.channel_id)
    EXECUTE FUNCTION orders_sync_copy()""",
)

SQLITE = (
    f"""CREATE TRIGGER orders_sync_insert AFTER INSERT ON {ORDERS} BEGIN
        INSERT INTO {SYNC} (order_id, channel_id, updated_at)
        VALUES (NEW.id, NEW.channel_id, NEW.updated_at);
    END""",
    f"""CREATE TRIGGER orders_sync_update AFTER UPDATE OF updated_at, channel_id ON {ORDERS}
    WHEN NEW.updated_at IS NOT OLD.updated_at OR NEW.channel_id IS NOT OLD.channel_id BEGIN
        UPDATE {SYNC} SET updated_at = MAX(updated_at, NEW.updated_at), channel_id = NEW.channel_id
        WHERE order_id = NEW.id;
    END""",
)

DROP = {
    "postgresql": (f"DROP TRIGGER IF EXISTS orders_sync_insert ON {ORDERS}",
                   f"DROP TRIGGER IF EXISTS orders_sync_update ON {ORDERS}",
                   "DROP FUNCTION IF EXISTS orders_sync_copy()"),
    "sqlite": ("DROP TRIGGER IF EXISTS orders_sync_insert", "DROP TRIGGER IF EXISTS orders_sync_update"),
}


def install(schema_editor) -> None:
    """(Re)create the triggers, and a sync row for every order that has none."""
    vendor = schema_editor.connection.vendor
    for sql in DROP[vendor] + {"postgresql": POSTGRESQL, "sqlite": SQLITE}[vendor]:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(
        f"INSERT INTO {SYNC} (order_id, channel_id, updated_at) SELECT o.id, o.channel_id, o.updated_at "
        f"FROM {ORDERS} o WHERE NOT EXISTS (SELECT 1 FROM {SYNC} s WHERE s.order_id = o.id)", params=None)


def uninstall(schema_editor) -> None:
    """Drop the triggers, first handing each order the clock's later time: a re-promise moved
    only the clock, and partners must not lose the moves it recorded."""
    for sql in DROP[schema_editor.connection.vendor]:
        schema_editor.execute(sql, params=None)
    schema_editor.execute(
        f"UPDATE {ORDERS} SET updated_at = (SELECT s.updated_at FROM {SYNC} s WHERE s.order_id = {ORDERS}.id) "
        f"WHERE EXISTS (SELECT 1 FROM {SYNC} s WHERE s.order_id = {ORDERS}.id "
        f"AND s.updated_at > {ORDERS}.updated_at)", params=None)

"""Create the Moderators group: it may moderate comments and edit the rules, and only read articles.

Permissions are normally created after all migrations have run, so on a fresh database they are
created here with the same names Django would give them.
"""

from django.db import migrations

MODERATORS = "Moderators"
PERMISSIONS = [
    ("comments", "comment", ["view", "change"]),
    ("comments", "moderationrules", ["view", "change"]),
    ("blog", "article", ["view"]),
]


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=MODERATORS)
    for app_label, model_name, actions in PERMISSIONS:
        model = apps.get_model(app_label, model_name)
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model_name)
        for action in actions:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model_name}",
                defaults={"name": f"Can {action} {model._meta.verbose_name_raw}"},
            )
            group.permissions.add(permission)
    apps.get_model("comments", "ModerationRules").objects.get_or_create(pk=1)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=MODERATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0001_initial"),
        ("blog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]

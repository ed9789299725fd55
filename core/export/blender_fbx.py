"""Run under a Python that has Blender's ``bpy``: convert a .glb into an .fbx with Blender's own
importer and exporter (every animation becomes an FBX take), e.g.

    python blender_fbx.py in.glb out.fbx

Kept free of Choreo Studio imports: the Python that has ``bpy`` (Blender's module has wheels for
one Python version only) need not have Choreo Studio installed.
"""

from __future__ import annotations

import sys


def convert(glb_path: str, fbx_path: str, fps: int = 30) -> None:
    """Import ``glb_path`` into an empty Blender scene and export it as ``fbx_path``."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = fps
    bpy.ops.import_scene.gltf(filepath=glb_path)
    bpy.ops.export_scene.fbx(
        filepath=fbx_path, object_types={"ARMATURE", "MESH"}, add_leaf_bones=False,
        bake_anim=True, bake_anim_use_all_actions=True, bake_anim_use_nla_strips=False,
        bake_anim_simplify_factor=0.0, use_armature_deform_only=False)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30)

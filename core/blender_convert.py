"""Run under a Python that has Blender's ``bpy``: convert between glTF (.glb/.gltf) and FBX with
Blender's own importers and exporters (every animation becomes an FBX take / a glTF
animation), e.g.

    python blender_convert.py in.glb out.fbx 30
    python blender_convert.py take.fbx take.glb 30

Kept free of Choreo Studio imports: the Python that has ``bpy`` (Blender's module has wheels for
one Python version only) need not have Choreo Studio installed.
"""

from __future__ import annotations

import sys


def convert(source: str, target: str, fps: int = 30) -> None:
    """Import ``source`` into an empty Blender scene and export it as ``target``."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = fps
    if source.lower().endswith(".fbx"):
        bpy.ops.import_scene.fbx(filepath=source, anim_offset=0.0)
    else:
        bpy.ops.import_scene.gltf(filepath=source)
    if target.lower().endswith(".fbx"):
        bpy.ops.export_scene.fbx(
            filepath=target, object_types={"ARMATURE", "MESH"}, add_leaf_bones=False,
            bake_anim=True, bake_anim_use_all_actions=True, bake_anim_use_nla_strips=False,
            bake_anim_simplify_factor=0.0, use_armature_deform_only=False)
    else:
        bpy.ops.export_scene.gltf(filepath=target, export_format="GLB",
                                  export_animations=True, export_force_sampling=True,
                                  export_animation_mode="ACTIONS")


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 30)

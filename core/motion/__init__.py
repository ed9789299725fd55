"""Motion: skeletons, quaternions, joint rotations over time, BVH, kinematic beats, descriptors."""

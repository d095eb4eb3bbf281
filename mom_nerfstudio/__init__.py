"""The mom4d method: looping 4D Gaussians on nerfstudio's splatfacto."""

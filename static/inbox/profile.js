// The profile page works without this script (a plain form). It only previews the chosen
// photo before saving, so the agent sees the crop shoppers will get.
const input = document.getElementById('profile-photo-input');
const preview = document.getElementById('profile-photo');

if (input && preview) {
  input.addEventListener('change', () => {
    const file = input.files && input.files[0];
    if (!file || !file.type.startsWith('image/')) return;
    const img = document.createElement('img');
    img.id = 'profile-photo';
    img.alt = '';
    img.width = 96;
    img.height = 96;
    img.src = URL.createObjectURL(file);
    document.getElementById('profile-photo').replaceWith(img);
  });
}

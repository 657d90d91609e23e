// The review page: highlight the word being heard, and jump to a word when it is clicked.
(function () {
  var player = document.getElementById("player");
  var words = Array.prototype.slice.call(document.querySelectorAll("#words .word"));
  if (!player || !words.length) { return; }
  player.addEventListener("timeupdate", function () {
    var t = player.currentTime;
    words.forEach(function (w) {
      var on = t >= parseFloat(w.dataset.start) && t < parseFloat(w.dataset.end) + 0.05;
      w.classList.toggle("now", on);
    });
  });
  words.forEach(function (w) {
    w.addEventListener("click", function () {
      player.currentTime = parseFloat(w.dataset.start);
      player.play();
    });
  });
}());
